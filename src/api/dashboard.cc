#include "api/dashboard.h"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <sstream>

#include "api/errors.h"
#include "base/json.h"
#include "metering/invocation_logs.h"
#include "metering/usage_query.h"
#include "metering/usage_series.h"

namespace lambent::api {

namespace beast_http = http::beast_http;
using nlohmann::json;

namespace {

struct DashboardFile {
  std::string_view path;  // as requested
  std::string_view file;  // under the ui directory
  std::string_view content_type;
  std::string_view cache_control;
};

// The page is revalidated at every load, so that a new daemon's page shows at once; the
// rest may be reused for a while, and then revalidated cheaply by their ETag.
constexpr std::array kFiles{
    DashboardFile{"/ui", "index.html", "text/html; charset=utf-8", "no-cache"},
    DashboardFile{"/ui/", "index.html", "text/html; charset=utf-8", "no-cache"},
    DashboardFile{"/ui/index.html", "index.html", "text/html; charset=utf-8", "no-cache"},
    DashboardFile{"/ui/app.js", "app.js", "text/javascript; charset=utf-8", "max-age=300"},
    DashboardFile{"/ui/style.css", "style.css", "text/css; charset=utf-8", "max-age=300"},
    DashboardFile{"/ui/vendor/uPlot.iife.min.js", "vendor/uPlot.iife.min.js",
                  "text/javascript; charset=utf-8", "max-age=86400"},
    DashboardFile{"/ui/vendor/uPlot.min.css", "vendor/uPlot.min.css", "text/css; charset=utf-8",
                  "max-age=86400"},
};

std::string ETagOf(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a: a change detector, not a secret
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return fmt::format("\"{:016x}-{:x}\"", hash, bytes.size());
}

http::Response NotFound() {
  return http::MakeResponse(404, "Not found\n", "text/plain; charset=utf-8");
}

}  // namespace

bool IsDashboardPath(std::string_view path) { return path == "/ui" || path.starts_with("/ui/"); }

bool IsBrowserRoot(std::string_view path, const http::RequestHeader& header) {
  if (path != "/" || header.method() != beast_http::verb::get) return false;
  auto accept = header.find(beast_http::field::accept);
  return accept != header.end() &&
         std::string_view(accept->value()).find("text/html") != std::string_view::npos;
}

http::Response RedirectToDashboard() {
  auto response = http::MakeResponse(302, "", "text/plain; charset=utf-8");
  response.set(beast_http::field::location, "/ui/");
  return response;
}

http::Response ServeDashboardFile(const std::filesystem::path& ui_dir, std::string_view path,
                                  std::string_view if_none_match) {
  const DashboardFile* entry = nullptr;
  for (const auto& f : kFiles) {
    if (f.path == path) entry = &f;
  }
  if (!entry) return NotFound();
  std::ifstream in(ui_dir / entry->file, std::ios::binary);
  if (!in) return NotFound();
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string body = std::move(bytes).str();
  std::string etag = ETagOf(body);
  http::Response response;
  if (!if_none_match.empty() && if_none_match == etag) {
    response = http::MakeResponse(304, "", entry->content_type);
    response.erase(beast_http::field::content_type);
  } else {
    response = http::MakeResponse(200, std::move(body), entry->content_type);
  }
  response.set(beast_http::field::cache_control, entry->cache_control);
  response.set(beast_http::field::etag, etag);
  response.set("X-Content-Type-Options", "nosniff");
  return response;
}

namespace {

constexpr int kDefaultRecent = 50;
constexpr int kMaxRecent = 200;

json InvocationJson(const metering::UsageRecord& r) {
  json entry{{"time_ms", r.time_ms},         {"function", r.function},       {"version", r.version},
             {"request_id", r.request_id},   {"source", r.source},           {"duration_ms", r.duration_ms},
             {"billed_ms", r.billed_ms + r.init_billed_ms},                  {"memory_mb", r.memory_mb},
             {"outcome", r.outcome},         {"error_type", r.error_type},   {"trace_id", r.trace_id},
             {"provisioned", r.provisioned}};
  if (r.init_ms) entry["init_ms"] = *r.init_ms;
  return entry;
}

}  // namespace

http::Response GetRecentInvocations(metering::Ledger& ledger, const RequestTarget& target) {
  metering::RecentQuery query;
  query.limit = kDefaultRecent;
  if (auto limit = target.Query("limit"); limit && !limit->empty()) {
    char* end = nullptr;
    long long n = std::strtoll(limit->c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > kMaxRecent) {
      return ErrorResponse(Error::Invalid(fmt::format("limit: a number, 1 to {}", kMaxRecent)));
    }
    query.limit = int(n);
  }
  if (auto function = target.Query("function"); function && !function->empty()) {
    auto ref = ParseFunctionRef(*function);
    if (!ref) return ErrorResponse(ref.error());
    query.function = ref->name;
    query.version = ref->qualifier;
  }
  auto rows = ledger.Recent(query);
  if (!rows) return ErrorResponse(rows.error());
  json list = json::array();
  for (const auto& r : *rows) list.push_back(InvocationJson(r));
  return http::MakeResponse(200, DumpJson(json{{"invocations", std::move(list)}}));
}

http::Response GetInvocationLogs(metering::Ledger& ledger, telemetry::LogStore& logs, const std::string& request_id,
                                 const RequestTarget& target, int64_t now_ms) {
  // Request ids are UUIDs here, and ids from Lambda's own tools are no longer: anything else
  // is not one of ours.
  if (request_id.empty() || request_id.size() > 128) {
    return ErrorResponse(Error::Invalid("request id: 1 to 128 characters"));
  }
  constexpr int64_t kAround = 5 * 60'000, kLastHour = 3'600'000;
  int64_t since = now_ms - kLastHour, until = now_ms + kAround;
  if (auto time = target.Query("time"); time && !time->empty()) {
    char* end = nullptr;
    long long t = std::strtoll(time->c_str(), &end, 10);
    if (*end != '\0' || t < 0 || t > 253'402'300'799'999LL) {
      return ErrorResponse(Error::Invalid("time: milliseconds since the epoch"));
    }
    since = t - kAround;
    until = t + kAround;
  }
  auto record = ledger.FindInvocation(request_id, since, until);
  if (!record) return ErrorResponse(record.error());
  if (!*record) return ErrorResponse(Error::NotFound("No invocation with request id " + request_id));
  json lines = json::array();
  auto events = metering::InvocationLines(logs, **record);
  // A function without a log (deleted since, or never wrote a line) has no lines to show.
  if (events) {
    for (auto& e : *events) {
      lines.push_back({{"timestamp", e.timestamp}, {"stream", std::move(e.stream)}, {"message", std::move(e.message)}});
    }
  } else if (events.error().code() != ErrorCode::kNotFound) {
    return ErrorResponse(events.error());
  }
  return http::MakeResponse(200, DumpJson(json{{"invocation", InvocationJson(**record)}, {"lines", std::move(lines)}}));
}

http::Response GetUsageSeries(metering::Ledger& ledger, const RequestTarget& target, int64_t now_ms) {
  metering::SeriesQuery query;
  query.since_ms = now_ms - 3'600'000;
  query.until_ms = now_ms;
  for (auto [key, bound] : {std::pair{"since", &query.since_ms}, std::pair{"until", &query.until_ms}}) {
    auto text = target.Query(key);
    if (!text || text->empty()) continue;
    auto parsed = metering::ParseUsageTime(*text, now_ms);
    if (!parsed) return ErrorResponse(Error::Invalid(std::string(key) + ": " + parsed.error().message()));
    *bound = *parsed;
  }
  if (auto step = target.Query("step"); step && !step->empty()) {
    char* end = nullptr;
    long long seconds = std::strtoll(step->c_str(), &end, 10);
    if (*end != '\0' || seconds <= 0 || seconds > 86'400) {
      return ErrorResponse(Error::Invalid("step: a number of seconds, 1 to 86400"));
    }
    query.step_ms = seconds * 1000;
  }
  // Steps start on a multiple of the step, so that two charts drawn a moment apart agree.
  query.since_ms -= query.since_ms % query.step_ms;
  if (auto function = target.Query("function"); function && !function->empty()) {
    auto ref = ParseFunctionRef(*function);
    if (!ref) return ErrorResponse(ref.error());
    query.function = ref->name;
    query.version = ref->qualifier;
  }
  auto points = ledger.Series(query);
  if (!points) return ErrorResponse(points.error());
  return http::MakeResponse(200, DumpJson(metering::SeriesJson(query, *points)));
}

}  // namespace lambent::api
