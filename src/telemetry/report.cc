#include "telemetry/report.h"

#include <fmt/format.h>
#include <time.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace lambent::telemetry {

namespace {

// RFC 3339 in UTC with milliseconds, as Lambda stamps its system records.
std::string IsoTime(int64_t epoch_ms) {
  time_t secs = epoch_ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, epoch_ms % 1000);
}

// Lambda's records give durations to the microsecond at most.
double Round3(double ms) { return std::round(ms * 1000) / 1000; }

std::string Record(const char* type, nlohmann::json record, int64_t now_ms) {
  nlohmann::json line{{"time", IsoTime(now_ms)}, {"type", type}, {"record", std::move(record)}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string StartLine(const std::string& request_id, const std::string& version) {
  return fmt::format("START RequestId: {} Version: {}\n", request_id, version);
}

std::string EndLine(const std::string& request_id) {
  return fmt::format("END RequestId: {}\n", request_id);
}

int64_t BilledMs(double duration_ms) {
  return std::max<int64_t>(1, int64_t(std::ceil(duration_ms)));
}

std::string ReportLine(const Report& r) {
  std::string line = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
      "Max Memory Used: {} MB",
      // Since August 2025 Lambda bills an on-demand cold start's init with its invoke phase,
      // rounded up together, and its REPORT shows that sum (a provisioned init is billed with
      // the provisioned concurrency instead: its REPORT has no Init Duration).
      r.request_id, r.duration_ms, BilledMs(r.duration_ms + r.init_duration_ms.value_or(0)),
      r.memory_size_mb, r.max_memory_used_mb);
  if (r.init_duration_ms) line += fmt::format("\tInit Duration: {:.2f} ms", *r.init_duration_ms);
  if (r.timed_out) {
    line += "\tStatus: timeout";
  } else if (!r.error_type.empty()) {
    line += fmt::format("\tStatus: error\tError Type: {}", r.error_type);
  }
  line += '\n';
  return line;
}

PlatformLogFormat PlatformLogFormat::Of(const std::string& log_format,
                                        const std::string& system_log_level) {
  PlatformLogFormat format;
  format.json = log_format == "JSON";
  format.info_records = !format.json || system_log_level != "WARN";
  return format;
}

std::string StartRecord(const std::string& request_id, const std::string& version,
                        const std::string& trace_id, int64_t now_ms) {
  nlohmann::json record{{"requestId", request_id}, {"version", version}};
  if (!trace_id.empty()) record["tracing"] = {{"type", "X-Amzn-Trace-Id"}, {"value", trace_id}};
  return Record("platform.start", std::move(record), now_ms);
}

std::string ReportRecord(const Report& r, int64_t now_ms) {
  nlohmann::json metrics{
      {"durationMs", Round3(r.duration_ms)},
      {"billedDurationMs", BilledMs(r.duration_ms + r.init_duration_ms.value_or(0))},
      {"memorySizeMB", r.memory_size_mb},
      {"maxMemoryUsedMB", r.max_memory_used_mb}};
  if (r.init_duration_ms) metrics["initDurationMs"] = Round3(*r.init_duration_ms);
  nlohmann::json record{{"requestId", r.request_id}, {"metrics", std::move(metrics)}};
  if (r.timed_out) {
    record["status"] = "timeout";
    record["errorType"] = "Sandbox.Timedout";
  } else if (!r.error_type.empty()) {
    record["status"] = "error";
    record["errorType"] = r.error_type;
  } else {
    record["status"] = "success";
  }
  return Record("platform.report", std::move(record), now_ms);
}

std::string PlatformStart(const PlatformLogFormat& format, const std::string& request_id,
                          const std::string& version, const std::string& trace_id, int64_t now_ms) {
  if (!format.json) return StartLine(request_id, version);
  return format.info_records ? StartRecord(request_id, version, trace_id, now_ms) : std::string();
}

std::string PlatformEnd(const PlatformLogFormat& format, const Report& report, int64_t now_ms) {
  if (!format.json) return EndLine(report.request_id) + ReportLine(report);
  return format.info_records ? ReportRecord(report, now_ms) : std::string();
}

std::string TimeoutLine(const PlatformLogFormat& format, const std::string& request_id,
                        int timeout_s, int64_t now_ms) {
  if (format.json) return {};
  return fmt::format("{} {} Task timed out after {}.00 seconds\n", FormatLambdaTimestamp(now_ms),
                     request_id, timeout_s);
}

}  // namespace lambent::telemetry
