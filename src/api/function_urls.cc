#include "api/function_urls.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <random>

#include "api/common.h"
#include "api/errors.h"
#include "api/function_url_stream.h"
#include "api/invocations.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/json.h"
#include "urls/payload_v2.h"
#include "urls/url_directory.h"

namespace lambent::api {

namespace beast_http = http::beast_http;
using beast_http::verb;
using nlohmann::json;

namespace {

constexpr std::string_view kPathForm = "/lambda-url/";

std::string_view HostName(std::string_view host) {
  // "[::1]:9000" keeps its brackets; "a.b:9000" loses the port.
  if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    return host.substr(0, colon);
  }
  return host;
}

std::string PortOf(std::string_view host) {
  auto colon = host.rfind(':');
  if (colon == std::string_view::npos || host.substr(colon).find(']') != std::string_view::npos) return "";
  return std::string(host.substr(colon));
}

// The URL id and the path the function sees, from the Host or the path form.
std::optional<std::pair<std::string, std::string>> Locate(const http::RequestHeader& header) {
  std::string_view target(header.target().data(), header.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view host = HostName(std::string_view(header[beast_http::field::host]));
  if (auto at = host.find(".lambda-url."); at != std::string_view::npos && at > 0) {
    return std::make_pair(std::string(host.substr(0, at)), std::string(path.empty() ? "/" : path));
  }
  if (path.starts_with(kPathForm)) {
    std::string_view rest = path.substr(kPathForm.size());
    auto slash = rest.find('/');
    std::string id(rest.substr(0, slash));
    std::string raw_path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (!id.empty()) return std::make_pair(id, raw_path);
  }
  return std::nullopt;
}

http::Response UrlError(unsigned status, std::string_view message) {
  return http::MakeResponse(status, DumpJson(json{{"Message", message}}), "application/json");
}

double Pick() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return double(generator() - std::minstd_rand::min()) /
         (double(std::minstd_rand::max() - std::minstd_rand::min()) + 1.0);
}

std::string UrlOf(const ApiContext& context, const urls::UrlConfig& config, std::string_view host) {
  return fmt::format("http://{}.lambda-url.{}.localhost{}/", config.url_id, context.region, PortOf(host));
}

json Describe(const ApiContext& context, const urls::UrlConfig& config, std::string_view host, bool modified) {
  json out{{"FunctionUrl", UrlOf(context, config, host)},
           {"FunctionArn", context.FunctionArn(config.function, config.qualifier)},
           {"AuthType", config.auth_type},
           {"InvokeMode", config.invoke_mode},
           {"CreationTime", urls::UrlTime(config.created_ms)}};
  if (config.cors) out["Cors"] = config.cors->ToJson();
  if (modified) out["LastModifiedTime"] = urls::UrlTime(config.modified_ms);
  return out;
}

// AuthType and InvokeMode as lambent serves them today, or why not.
Result<void> CheckModes(const json& body, urls::UrlConfig& config, bool required) {
  if (auto it = body.find("AuthType"); it != body.end()) {
    if (!it->is_string() || (*it != "NONE" && *it != "AWS_IAM")) {
      return tl::unexpected(Error::Invalid("1 validation error detected: Value at 'authType' failed to satisfy "
                                           "constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"));
    }
    if (*it == "AWS_IAM") {
      return tl::unexpected(Error::Invalid(
          "AuthType AWS_IAM is not supported yet: lambent does not check request signatures. Use NONE."));
    }
    config.auth_type = it->get<std::string>();
  } else if (required) {
    return tl::unexpected(Error::Invalid("1 validation error detected: Value null at 'authType' failed to satisfy "
                                         "constraint: Member must not be null"));
  }
  if (auto it = body.find("InvokeMode"); it != body.end()) {
    if (!it->is_string() || (*it != "BUFFERED" && *it != "RESPONSE_STREAM")) {
      return tl::unexpected(Error::Invalid("1 validation error detected: Value at 'invokeMode' failed to satisfy "
                                           "constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"));
    }
    config.invoke_mode = it->get<std::string>();
  }
  if (auto it = body.find("Cors"); it != body.end()) {
    if (it->is_null()) {
      config.cors.reset();
    } else {
      auto cors = urls::Cors::FromJson(*it);
      if (!cors) return tl::unexpected(cors.error());
      config.cors = std::move(*cors);
    }
  }
  return Ok();
}

// The qualifier a URL config may have: none, $LATEST, or an alias of the function.
Result<std::string> UrlQualifier(const ApiContext& context, const FunctionRef& ref) {
  if (!context.registry.Find(ref.name)) {
    return tl::unexpected(Error::NotFound("Function not found: " + context.FunctionArn(ref.name)));
  }
  if (ref.qualifier.empty() || ref.qualifier == "$LATEST") return ref.qualifier;
  if (IsVersionNumber(ref.qualifier)) {
    return tl::unexpected(Error::Invalid("A function URL can be set on $LATEST or an alias, not on a version."));
  }
  if (!context.registry.FindAlias(ref.name, ref.qualifier)) {
    return tl::unexpected(Error::NotFound("Function not found: " + context.FunctionArn(ref.name, ref.qualifier)));
  }
  return ref.qualifier;
}

http::Response HandleConfig(ApiContext& context, const RequestTarget& target, const FunctionRef& ref,
                            verb method, const std::string& host, const std::string& body_text) {
  urls::UrlDirectory& directory = *context.urls;
  const auto& s = target.segments;
  if (s.size() == 4 && s[3] == "urls" && method == verb::get) {
    if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
    json list = json::array();
    for (const auto& config : directory.List(ref.name)) list.push_back(Describe(context, config, host, true));
    return JsonResponse(200, json{{"FunctionUrlConfigs", list}});
  }
  if (s.size() != 4 || s[3] != "url") return ErrorResponse(404, "UnknownOperationException", "Unknown operation");
  auto qualifier = UrlQualifier(context, ref);
  if (!qualifier) return ErrorResponse(qualifier.error());
  json body = body_text.empty() ? json::object() : json::parse(body_text, nullptr, false);
  if (!body.is_object()) return ErrorResponse(Error::Invalid("The request body must be a JSON object."));
  const int64_t now = NowEpochMs();
  switch (method) {
    case verb::post: {
      urls::UrlConfig config;
      config.function = ref.name;
      config.qualifier = *qualifier;
      config.url_id = urls::NewUrlId();
      config.created_ms = config.modified_ms = now;
      if (auto ok = CheckModes(body, config, /*required=*/true); !ok) return ErrorResponse(ok.error());
      auto created = directory.Create(std::move(config));
      if (!created) {
        if (created.error().code() == ErrorCode::kConflict) {
          return ErrorResponse(409, "ResourceConflictException",
                               fmt::format("Failed to create function url config for [functionArn = {}]. Error "
                                           "message:  FunctionUrlConfig exists for this Lambda function",
                                           context.FunctionArn(ref.name, *qualifier)));
        }
        return ErrorResponse(created.error());
      }
      return JsonResponse(201, Describe(context, *created, host, false));
    }
    case verb::get: {
      auto config = directory.Find(ref.name, *qualifier);
      if (!config) return ErrorResponse(404, "ResourceNotFoundException", "The resource you requested does not exist.");
      return JsonResponse(200, Describe(context, *config, host, true));
    }
    case verb::put: {
      auto updated = directory.Update(ref.name, *qualifier, [&](urls::UrlConfig& config) -> Result<void> {
        if (auto ok = CheckModes(body, config, /*required=*/false); !ok) return ok;
        config.modified_ms = now;
        return Ok();
      });
      if (!updated) {
        if (updated.error().code() == ErrorCode::kNotFound) {
          return ErrorResponse(404, "ResourceNotFoundException", "The resource you requested does not exist.");
        }
        return ErrorResponse(updated.error());
      }
      return JsonResponse(200, Describe(context, *updated, host, true));
    }
    case verb::delete_: {
      auto deleted = directory.Delete(ref.name, *qualifier);
      if (!deleted) {
        if (deleted.error().code() == ErrorCode::kNotFound) {
          return ErrorResponse(404, "ResourceNotFoundException", "The resource you requested does not exist.");
        }
        return ErrorResponse(deleted.error());
      }
      return http::MakeResponse(204, "", "");
    }
    default:
      return ErrorResponse(404, "UnknownOperationException", "Unknown operation");
  }
}

}  // namespace

void RouteFunctionUrlConfig(ApiContext& context, const RequestTarget& target, const FunctionRef& ref,
                            http::Request& request, http::Responder& respond) {
  if (!context.urls) return respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
  boost::asio::post(context.workers, [&context, target, ref, method = request.method(),
                                      host = std::string(request[beast_http::field::host]),
                                      body = std::move(request.body()), respond = std::move(respond)]() mutable {
    http::Response response;
    try {
      response = HandleConfig(context, target, ref, method, host, body);
    } catch (const std::exception& e) {
      response = ErrorResponse(Error::Internal(e.what()));
    }
    respond(std::move(response));
  });
}

bool IsFunctionUrlRequest(const http::RequestHeader& header) { return Locate(header).has_value(); }

void ServeFunctionUrl(ApiContext& context, http::Request request, http::Responder respond) {
  auto located = Locate(request.base());
  std::optional<urls::UrlConfig> config;
  if (located && context.urls) config = context.urls->ById(located->first);
  if (!config) return respond(UrlError(404, "Not Found"));
  if (auto preflight = urls::Preflight(config->cors, request)) return respond(std::move(*preflight));
  auto resolved = context.registry.Resolve(config->function, config->qualifier, Pick());
  if (!resolved) return respond(UrlError(404, "Not Found"));

  urls::RequestContext url_context;
  url_context.url_id = config->url_id;
  url_context.domain = std::string(HostName(std::string_view(request[beast_http::field::host])));
  url_context.account_id = context.account_id;
  url_context.request_id = NewRequestId();
  url_context.source_ip = respond.peer_address();
  url_context.now_ms = NowEpochMs();
  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->source = scheduler::InvocationSource::kUrl;
  invocation->trace_id = TraceHeader(request);
  invocation->request_id = url_context.request_id;
  invocation->payload = urls::BuildEvent(request, located->second, url_context);
  if (invocation->payload.size() > kSyncPayloadLimit) {
    return respond(UrlError(413, fmt::format("Request must be smaller than {} bytes for the InvokeFunction operation",
                                             kSyncPayloadLimit)));
  }
  invocation->invoked_arn = context.FunctionArn(config->function, config->qualifier);
  invocation->config = std::move(resolved->config);
  // What the answer needs of the request once it has moved on.
  auto request_head = std::make_shared<http::Request>(request.base());
  if (config->invoke_mode == "RESPONSE_STREAM") {
    auto relay = std::make_shared<UrlStreamRelay>(std::move(respond), request_head, config->cors,
                                                  invocation->request_id);
    invocation->stream = relay;
    invocation->done = [relay](scheduler::Outcome outcome) { relay->Finish(std::move(outcome)); };
    return context.scheduler.Invoke(std::move(invocation));
  }
  auto responder = std::make_shared<http::Responder>(std::move(respond));
  invocation->done = [responder, request_head, cors = config->cors,
                      id = invocation->request_id](scheduler::Outcome outcome) {
    http::Response response;
    if (outcome.error) {
      response = outcome.error->code() == ErrorCode::kTooManyRequests ? UrlError(429, "Rate Exceeded.")
                                                                       : UrlError(502, "Internal Server Error");
      if (outcome.error->code() != ErrorCode::kTooManyRequests) {
        spdlog::warn("function URL request {}: {}", id, outcome.error->message());
      }
    } else {
      response = urls::ResultToResponse(outcome.body, outcome.function_error);
    }
    urls::AddCorsHeaders(cors, *request_head, response);
    response.set("x-amzn-RequestId", id);
    (*responder)(std::move(response));
  };
  context.scheduler.Invoke(std::move(invocation));
}

}  // namespace lambent::api
