#include "api/gateway.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/aliases.h"
#include "api/common.h"
#include "api/concurrency.h"
#include "api/dashboard.h"
#include "api/environments.h"
#include "api/errors.h"
#include "api/event_invoke_config.h"
#include "api/event_source_mappings.h"
#include "api/function_urls.h"
#include "api/functions.h"
#include "api/invocations.h"
#include "api/policies.h"
#include "api/request_target.h"
#include "api/status.h"
#include "api/tags.h"
#include "api/usage.h"
#include "api/versions.h"
#include "registry/function_config.h"
#include "base/json.h"
#include "eventbridge/event_router.h"
#include "eventbridge/eventbridge_api.h"
#include "logs/filter_pattern.h"
#include "logs/log_lines.h"
#include "logs/logs_api.h"
#include "metrics/exporter.h"
#include "sqs/sqs_api.h"

namespace lambent::api {

namespace beast_http = http::beast_http;
using beast_http::verb;
using nlohmann::json;

namespace {

constexpr uint64_t kControlPlaneLimit = 70167211;  // CreateFunction's own limit in Lambda
constexpr uint64_t kSmallBodyLimit = 1024 * 1024;

bool IsInvoke(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return (path.starts_with("/2015-03-31/functions/") && path.ends_with("/invocations")) ||
         (path.starts_with("/2021-11-15/functions/") && path.ends_with("/response-streaming-invocations"));
}

bool IsInvokeAsync(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path.starts_with("/2014-11-13/functions/") &&
         (path.ends_with("/invoke-async/") || path.ends_with("/invoke-async"));
}

http::Response UnknownOperation() {
  return ErrorResponse(404, "UnknownOperationException", "Unknown operation");
}

}  // namespace

uint64_t Gateway::BodyLimit(const http::RequestHeader& header) const {
  if (context_.urls && IsFunctionUrlRequest(header)) return kSyncPayloadLimit;
  if (context_.sqs && sqs::SqsApi::Claims(header)) return context_.sqs->BodyLimit();
  std::string_view target(header.target().data(), header.target().size());
  if (IsInvoke(target) || IsInvokeAsync(target)) {
    auto type = header.find("X-Amz-Invocation-Type");
    if (IsInvokeAsync(target)) return kAsyncPayloadLimit;
    if (type != header.end() && type->value() == "Event") return kAsyncPayloadLimit;
    return kSyncPayloadLimit;
  }
  // Only the operations that carry a code package may be large; every other document is
  // small, so a large one is refused before it is read.
  auto path = target.substr(0, target.find('?'));
  bool carries_code = (header.method() == verb::post && (path == "/2015-03-31/functions" ||
                                                         path == "/2015-03-31/functions/")) ||
                      (header.method() == verb::put && path.starts_with("/2015-03-31/functions/") &&
                       path.ends_with("/code"));
  return carries_code ? kControlPlaneLimit : kSmallBodyLimit;
}

http::Response Gateway::Reject(const http::RequestHeader& header, uint64_t limit) {
  if (context_.sqs && sqs::SqsApi::Claims(header) && !(context_.urls && IsFunctionUrlRequest(header))) {
    return sqs::SqsApi::Reject(header, limit);
  }
  if (context_.urls && IsFunctionUrlRequest(header)) {
    return http::MakeResponse(
        413, fmt::format(R"({{"Message":"Request must be smaller than {} bytes for the InvokeFunction operation"}})", limit),
        "application/json");
  }
  std::string_view target(header.target().data(), header.target().size());
  if (IsInvoke(target)) {
    return ErrorResponse(
        413, "RequestTooLargeException",
        fmt::format("Request must be smaller than {} bytes for the InvokeFunction operation", limit));
  }
  return ErrorResponse(413, "RequestEntityTooLargeException",
                       fmt::format("Request must be smaller than {} bytes", limit));
}

template <typename Work>
void Gateway::OnWorkers(http::Responder respond, Work work) {
  boost::asio::post(context_.workers, [respond = std::move(respond), work = std::move(work)]() mutable {
    http::Response response;
    try {
      response = work();
    } catch (const std::exception& e) {
      // A bug must cost one request, never the daemon.
      response = ErrorResponse(Error::Internal(e.what()));
    } catch (...) {
      response = ErrorResponse(Error::Internal("internal error"));
    }
    respond(std::move(response));
  });
}

void Gateway::Handle(http::Request request, http::Responder respond) {
  // A bug or a hostile input must cost one request, never the daemon and every invocation
  // in flight: nothing thrown here may reach the event loop.
  try {
    Route(request, respond);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", std::string_view(request.method_string()), ValidUtf8(request.target()), e.what());
    if (respond.connected()) respond(ErrorResponse(Error::Internal("internal error")));
  } catch (...) {
    spdlog::error("{} {}: unknown exception", std::string_view(request.method_string()),
                  ValidUtf8(request.target()));
    if (respond.connected()) respond(ErrorResponse(Error::Internal("internal error")));
  }
}

void Gateway::Route(http::Request& request, http::Responder& respond) {
  // First: a function URL's request may look like anything else (a form POST to "/").
  if (context_.urls && IsFunctionUrlRequest(request.base())) {
    return ServeFunctionUrl(context_, std::move(request), std::move(respond));
  }
  if (context_.sqs && sqs::SqsApi::Claims(request.base())) {
    return context_.sqs->Handle(std::move(request), std::move(respond));
  }
  if (context_.eventbridge && eventbridge::EventBridgeApi::Claims(request.base())) {
    return context_.eventbridge->Handle(std::move(request), std::move(respond));
  }
  if (logs::ClaimsLogsRequest(request.base())) {
    return logs::HandleLogsRequest({context_.io, context_.workers, context_.logs, context_.region, context_.account_id},
                                   std::move(request), std::move(respond));
  }
  std::string_view raw(request.target().data(), request.target().size());
  RequestTarget target = ParseTarget(raw);
  const auto& s = target.segments;
  verb method = request.method();

  // The dashboard's fixed files, matched on the raw path: nothing decoded reaches a file name.
  if (!context_.ui_dir.empty()) {
    std::string_view path = raw.substr(0, raw.find('?'));
    if (IsDashboardPath(path) && method == verb::get) {
      std::string if_none_match(request[beast_http::field::if_none_match]);
      return OnWorkers(std::move(respond), [this, path = std::string(path), if_none_match] {
        return ServeDashboardFile(context_.ui_dir, path, if_none_match);
      });
    }
    if (IsBrowserRoot(path, request.base())) return respond(RedirectToDashboard());
  }

  // Prometheus' conventional path; a function URL's request was served above.
  if (context_.metrics && s.size() == 1 && s[0] == "metrics" && method == verb::get) {
    return context_.metrics->Serve(std::move(respond));
  }
  if (s.size() >= 2 && s[0] == "lambent" && s[1] == "v1") {
    return HandleAdmin(target, request, respond);
  }
  if (s.size() == 2 && s[0] == "2016-08-19" && s[1] == "account-settings" && method == verb::get) {
    return OnWorkers(std::move(respond), [this] { return GetAccountSettings(context_); });
  }
  if (s.size() == 3 && s[0] == "2017-03-31" && s[1] == "tags") {
    std::string arn = s[2];
    if (method == verb::get) {
      return OnWorkers(std::move(respond), [this, arn] { return ListTags(context_, arn); });
    }
    if (method == verb::post) {
      return OnWorkers(std::move(respond), [this, arn, request = std::move(request)] {
        return TagResource(context_, arn, request);
      });
    }
    if (method == verb::delete_) {
      return OnWorkers(std::move(respond), [this, arn, target] { return UntagResource(context_, arn, target); });
    }
    return respond(UnknownOperation());
  }
  if (s.size() >= 2 && s[0] == "2015-03-31" && s[1] == "event-source-mappings") {
    return RouteEventSourceMappings(context_, target, request, respond);
  }
  bool functions_path = s.size() >= 2 && s[1] == "functions" &&
                        (s[0] == "2015-03-31" || s[0] == "2017-10-31" || s[0] == "2019-09-30" ||
                         s[0] == "2019-09-25" || s[0] == "2014-11-13" || s[0] == "2021-10-31" ||
                         s[0] == "2021-11-15");
  if (!functions_path) return respond(UnknownOperation());

  if (s.size() == 2 && s[0] == "2015-03-31") {
    if (method == verb::post) {
      return OnWorkers(std::move(respond), [this, request = std::move(request)] {
        return CreateFunction(context_, request);
      });
    }
    if (method == verb::get) {
      return OnWorkers(std::move(respond), [this, target] { return ListFunctions(context_, target); });
    }
    return respond(UnknownOperation());
  }
  if (s.size() < 3) return respond(UnknownOperation());

  auto ref = ParseFunctionRef(s[2]);
  if (!ref) return respond(ErrorResponse(ref.error()));
  if (auto refused = RefuseForeignRef(context_, *ref)) return respond(std::move(*refused));
  if (auto q = target.Query("Qualifier")) {
    if (!ref->qualifier.empty() && *q != ref->qualifier) {
      return respond(ErrorResponse(Error::Invalid(
          "The derived qualifier from the function name does not match the specified qualifier.")));
    }
    ref->qualifier = *q;
  }

  if (s[0] == "2017-10-31" || s[0] == "2019-09-30") return RouteConcurrency(target, *ref, request, respond);
  if (s[0] == "2021-10-31") return RouteFunctionUrlConfig(context_, target, *ref, request, respond);
  if (s[0] == "2019-09-25") {
    if (s.size() >= 4 && s[3] == "event-invoke-config") {
      return RouteEventInvokeConfig(context_, target, *ref, request, respond);
    }
    return respond(UnknownOperation());
  }
  if (s[0] == "2021-11-15") {
    if (s.size() == 4 && s[3] == "response-streaming-invocations" && method == verb::post) {
      return InvokeWithResponseStream(context_, *ref, target, std::move(request), std::move(respond));
    }
    return respond(UnknownOperation());
  }
  if (s[0] == "2014-11-13") {
    if (s.size() == 4 && s[3] == "invoke-async" && method == verb::post) {
      return InvokeAsync(context_, *ref, std::move(request), std::move(respond));
    }
    return respond(UnknownOperation());
  }

  if (s.size() >= 4 && s.size() <= 5 && s[3] == "policy" && s[0] == "2015-03-31") {
    return RoutePolicy(context_, target, *ref, request, respond);
  }
  if (s.size() == 4 && s[3] == "invocations" && method == verb::post) {
    // The data path: stays on the io thread.
    return Invoke(context_, *ref, target, std::move(request), std::move(respond));
  }
  if (s.size() == 3) {
    if (method == verb::get) {
      std::string host(request[beast_http::field::host]);
      return OnWorkers(std::move(respond),
                       [this, ref = *ref, host] { return GetFunction(context_, ref, host); });
    }
    if (method == verb::delete_) {
      return OnWorkers(std::move(respond), [this, ref = *ref] { return DeleteFunction(context_, ref); });
    }
  }
  if (s.size() == 4 && s[3] == "configuration") {
    if (method == verb::get) {
      return OnWorkers(std::move(respond),
                       [this, ref = *ref] { return GetFunctionConfiguration(context_, ref); });
    }
    if (method == verb::put) {
      return OnWorkers(std::move(respond), [this, ref = *ref, request = std::move(request)] {
        return UpdateFunctionConfiguration(context_, ref, request);
      });
    }
  }
  if (s.size() == 4 && s[3] == "code" && method == verb::put) {
    return OnWorkers(std::move(respond), [this, ref = *ref, request = std::move(request)] {
      return UpdateFunctionCode(context_, ref, request);
    });
  }
  if (s.size() == 4 && s[3] == "versions") {
    if (method == verb::post) {
      return OnWorkers(std::move(respond), [this, ref = *ref, request = std::move(request)] {
        return PublishVersion(context_, ref, request);
      });
    }
    if (method == verb::get) {
      return OnWorkers(std::move(respond),
                       [this, ref = *ref, target] { return ListVersionsByFunction(context_, ref, target); });
    }
  }
  if (s.size() == 4 && s[3] == "aliases") {
    if (method == verb::post) {
      return OnWorkers(std::move(respond), [this, ref = *ref, request = std::move(request)] {
        return CreateAlias(context_, ref, request);
      });
    }
    if (method == verb::get) {
      return OnWorkers(std::move(respond), [this, ref = *ref, target] { return ListAliases(context_, ref, target); });
    }
  }
  if (s.size() == 5 && s[3] == "aliases") {
    std::string alias = s[4];
    if (method == verb::get) {
      return OnWorkers(std::move(respond), [this, ref = *ref, alias] { return GetAlias(context_, ref, alias); });
    }
    if (method == verb::put) {
      return OnWorkers(std::move(respond), [this, ref = *ref, alias, request = std::move(request)] {
        return UpdateAlias(context_, ref, alias, request);
      });
    }
    if (method == verb::delete_) {
      return OnWorkers(std::move(respond), [this, ref = *ref, alias, target] {
        return DeleteAlias(context_, ref, alias, target);
      });
    }
  }
  respond(UnknownOperation());
}

void Gateway::RouteConcurrency(const RequestTarget& target, const FunctionRef& ref, http::Request& request,
                               http::Responder& respond) {
  const auto& s = target.segments;
  verb method = request.method();
  if (s.size() == 4 && s[3] == "concurrency") {
    if (method == verb::put && s[0] == "2017-10-31") {
      return OnWorkers(std::move(respond), [this, ref, request = std::move(request)] {
        return PutFunctionConcurrency(context_, ref, request);
      });
    }
    if (method == verb::get) {
      return OnWorkers(std::move(respond), [this, ref] { return GetFunctionConcurrency(context_, ref); });
    }
    if (method == verb::delete_ && s[0] == "2017-10-31") {
      return OnWorkers(std::move(respond), [this, ref] { return DeleteFunctionConcurrency(context_, ref); });
    }
  }
  if (s.size() == 4 && s[3] == "provisioned-concurrency" && s[0] == "2019-09-30") {
    if (method == verb::put) {
      return OnWorkers(std::move(respond), [this, ref, request = std::move(request)] {
        return PutProvisionedConcurrencyConfig(context_, ref, request);
      });
    }
    if (method == verb::delete_) {
      return OnWorkers(std::move(respond), [this, ref] { return DeleteProvisionedConcurrencyConfig(context_, ref); });
    }
    // The reads ask the scheduler, which lives here on the io thread; the registry's part is
    // a lookup under a shared lock.
    if (method == verb::get && target.Query("List")) {
      return respond(ListProvisionedConcurrencyConfigs(context_, ref, target));
    }
    if (method == verb::get) return respond(GetProvisionedConcurrencyConfig(context_, ref));
  }
  respond(UnknownOperation());
}

void Gateway::HandleAdmin(const RequestTarget& target, const http::Request& request,
                          http::Responder& respond) {
  const auto& s = target.segments;
  if (request.method() != verb::get) return respond(UnknownOperation());
  if (s.size() == 3 && s[2] == "health") {
    json body{{"status", "ok"}, {"environments", context_.scheduler.environments()}};
    // How each function in use scales: `lambent status` prints it.
    // Keyed "name" for $LATEST and "name:version" for a published version.
    json scaling = json::object();
    for (const auto& pool : context_.scheduler.Scaling()) {
      json entry{{"policy", pool.policy}, {"busy", pool.busy}, {"idle", pool.idle},
                 {"starting", pool.starting}, {"queued", pool.queued}};
      if (pool.warm_ms) entry["warm_ms"] = *pool.warm_ms;
      if (pool.cold_ms) entry["cold_start_ms"] = *pool.cold_ms;
      scaling[pool.version == "$LATEST" ? pool.function : pool.function + ":" + pool.version] = std::move(entry);
    }
    body["scaling"] = std::move(scaling);
    return respond(http::MakeResponse(200, DumpJson(body)));
  }
  if (s.size() == 3 && s[2] == "status") return respond(Status(context_));
  if (s.size() == 4 && s[2] == "usage" && s[3] == "series" && context_.usage) {
    return OnWorkers(std::move(respond), [this, target] { return GetUsageSeries(*context_.usage, target); });
  }
  if (s.size() == 3 && s[2] == "usage" && context_.usage) {
    return OnWorkers(std::move(respond), [this, target] { return GetUsage(*context_.usage, target); });
  }
  if (s.size() == 3 && s[2] == "queues" && context_.metrics) return context_.metrics->ServeQueues(std::move(respond));
  if (s.size() == 3 && s[2] == "invocations" && context_.usage) {
    return OnWorkers(std::move(respond), [this, target] { return GetRecentInvocations(*context_.usage, target); });
  }
  if (s.size() == 5 && s[2] == "invocations" && s[4] == "logs" && context_.usage) {
    return OnWorkers(std::move(respond), [this, target, id = std::string(s[3])] {
      return GetInvocationLogs(*context_.usage, context_.logs, id, target);
    });
  }
  if (s.size() == 3 && s[2] == "runtimes") {
    json list = json::array();
    for (const auto& f : context_.catalog.families()) {
      list.push_back({{"runtime", f.pattern},
                      {"interpreter", f.interpreter},
                      {"version", f.version},
                      {"available", f.available}});
    }
    return respond(http::MakeResponse(200, DumpJson(json{{"Runtimes", list}})));
  }
  if (s.size() == 5 && s[2] == "functions" && s[4] == "logs") {
    std::string name = s[3];
    // The name becomes a file name: only what Lambda allows in a function name gets there.
    if (!registry::IsValidFunctionName(name)) {
      return respond(ErrorResponse(Error::Invalid("Invalid function name: " + name)));
    }
    size_t tail = 0;
    if (auto text = target.Query("tail")) tail = size_t(std::strtoul(text->c_str(), nullptr, 10));
    bool timestamps = target.Query("timestamps") == "true";
    // since (ms since the epoch) and filter (a CloudWatch filter pattern) select lines.
    std::optional<int64_t> since;
    if (auto text = target.Query("since")) since = std::strtoll(text->c_str(), nullptr, 10);
    std::string filter = target.Query("filter").value_or("");
    if (since || !filter.empty()) {
      auto pattern = logs::FilterPattern::Parse(filter);
      if (!pattern) return respond(ErrorResponse(pattern.error()));
      return OnWorkers(std::move(respond), [this, name, tail, timestamps, since, pattern = std::move(*pattern)] {
        auto text = logs::SelectLines(context_.logs, name, since.value_or(0), pattern, tail, timestamps);
        if (!text && !context_.registry.Find(name)) {
          return ErrorResponse(Error::NotFound("Function not found: " + context_.FunctionArn(name)));
        }
        return http::MakeResponse(200, text ? std::move(*text) : std::string(), "text/plain; charset=utf-8");
      });
    }
    return OnWorkers(std::move(respond), [this, name, tail, timestamps] {
      auto text = context_.logs.Read(name, tail, timestamps);
      if (!text) {
        if (!context_.registry.Find(name)) {
          return ErrorResponse(Error::NotFound("Function not found: " + context_.FunctionArn(name)));
        }
        return http::MakeResponse(200, "", "text/plain; charset=utf-8");
      }
      return http::MakeResponse(200, std::move(*text), "text/plain; charset=utf-8");
    });
  }
  if (s.size() == 3 && s[2] == "prestarted") return respond(ListPrestarted(context_));
  if (s.size() == 3 && s[2] == "rules" && context_.event_router) {
    int count = 3;
    if (auto text = target.Query("count")) count = std::clamp(std::atoi(text->c_str()), 1, 100);
    return respond(http::MakeResponse(200, DumpJson(context_.event_router->Rules(count))));
  }
  if (s.size() == 5 && s[2] == "functions" && s[4] == "events") {
    return ListAsyncEvents(context_, target, s[3], respond);
  }
  if (s.size() == 5 && s[2] == "functions" && s[4] == "environments") {
    return respond(ListEnvironments(context_, s[3]));
  }
  if (s.size() == 4 && s[2] == "code" && s[3].ends_with(".zip")) {
    std::string key = s[3].substr(0, s[3].size() - 4);
    return OnWorkers(std::move(respond), [this, key] { return DownloadCode(context_, key); });
  }
  respond(UnknownOperation());
}

}  // namespace lambent::api
