#include "api/event_invoke_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "api/common.h"
#include "api/errors.h"
#include "api/functions.h"
#include "async/destination.h"
#include "async/event_log.h"
#include "sqs/sqs_message.h"

namespace lambent::api {

using nlohmann::json;
namespace beast_http = http::beast_http;

namespace {

// Lambda's ListFunctionEventInvokeConfigs page size: 1-50.
constexpr int kMaxListItems = 50;
constexpr size_t kMaxDestinationLength = 350;

std::string Qualifier(const FunctionRef& ref) {
  return ref.qualifier.empty() ? std::string("$LATEST") : ref.qualifier;
}

http::Response NoConfig(const ApiContext& context, const FunctionRef& ref) {
  return ErrorResponse(404, "ResourceNotFoundException",
                       fmt::format("The function {} doesn't have an EventInvokeConfig",
                                   context.FunctionArn(ref.name, Qualifier(ref))));
}

http::Response NoFunction() {
  return ErrorResponse(404, "ResourceNotFoundException", "The function doesn't exist.");
}

json ConfigJson(const ApiContext& context, const std::string& name, const std::string& qualifier,
                const registry::EventInvokeConfig& config) {
  auto destination = [](const std::string& arn) {
    return arn.empty() ? json::object() : json{{"Destination", arn}};
  };
  // restJson timestamps are epoch seconds.
  json out{{"LastModified", double(config.last_modified_ms) / 1000.0},
           {"FunctionArn", context.FunctionArn(name, qualifier)},
           {"DestinationConfig",
            {{"OnSuccess", destination(config.on_success)},
             {"OnFailure", destination(config.on_failure)}}}};
  if (config.max_retry_attempts) out["MaximumRetryAttempts"] = *config.max_retry_attempts;
  if (config.max_event_age_s) out["MaximumEventAgeInSeconds"] = *config.max_event_age_s;
  return out;
}

Error RangeError(int64_t value, const char* member, int64_t min, int64_t max) {
  return Error::Invalid(fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must "
      "have value {} {}",
      value, member, value < min ? "greater than or equal to" : "less than or equal to",
      value < min ? min : max));
}

Result<std::optional<int>> OptionalLimit(const json& body, const char* key, const char* member,
                                         int min, int max) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<int>();
  if (!it->is_number_integer()) {
    return tl::unexpected(Error::Invalid(
        fmt::format("1 validation error detected: Value at '{}' must be an integer", member)));
  }
  int64_t value = it->get<int64_t>();
  if (value < min || value > max) return tl::unexpected(RangeError(value, member, min, max));
  return std::optional<int>(int(value));
}

// What a request's DestinationConfig says: per side, absent (nullopt) or a destination
// ("" clears it).
struct DestinationFields {
  std::optional<std::string> on_success;
  std::optional<std::string> on_failure;
};

Result<std::optional<std::string>> ParseSide(const json& config, const char* key,
                                             const char* member) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_object()) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value at 'destinationConfig.{}' must be an object", member)));
  }
  auto destination = it->find("Destination");
  if (destination == it->end() || destination->is_null()) return std::optional<std::string>("");
  if (!destination->is_string()) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value at 'destinationConfig.{}.destination' must be a "
        "string",
        member)));
  }
  std::string arn = destination->get<std::string>();
  // Lambda's pattern for a destination, which its message quotes.
  static constexpr const char* kPatternText =
      R"(^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:)"
      R"(([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*))";
  static const std::regex kPattern(kPatternText);
  if (arn.size() > kMaxDestinationLength) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value at 'destinationConfig.{}.destination' failed to "
        "satisfy constraint: Member must have length less than or equal to {}",
        member, kMaxDestinationLength)));
  }
  // Matched only once the length is bounded: libstdc++'s regex recurses per character.
  if (!std::regex_match(arn, kPattern)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'destinationConfig.{}.destination' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: {}",
        arn.substr(0, 400), member, kPatternText)));
  }
  return std::optional<std::string>(std::move(arn));
}

// Lambda accepts functions, queues, topics and event buses; lambent delivers to the first
// two, its own: anything else is refused now rather than dropped at every event.
Result<void> CheckDestination(const ApiContext& context, const std::string& function,
                              const std::string& arn) {
  if (arn.empty()) return Ok();
  switch (async::DestinationKindOf(arn)) {
    case async::DestinationKind::kFunction: {
      auto parts = async::ParseFunctionArn(arn);
      if (parts->region != context.region || parts->account != context.account_id ||
          !context.registry.Find(parts->name)) {
        return tl::unexpected(
            Error::Invalid(fmt::format("The destination ARN {} is invalid.", arn)));
      }
      if (parts->name == function) {
        return tl::unexpected(
            Error::Invalid("You can't specify the function as a destination for itself."));
      }
      return Ok();
    }
    case async::DestinationKind::kQueue:
      if (!sqs::QueueNameFromArn(arn, context.region, context.account_id)) {
        return tl::unexpected(Error::Invalid(fmt::format(
            "The destination ARN {} is invalid: lambent delivers only to its own queues "
            "(arn:aws:sqs:{}:{}:<name>).",
            arn, context.region, context.account_id)));
      }
      return Ok();
    case async::DestinationKind::kTopic:
      return tl::unexpected(Error::Invalid(fmt::format(
          "The destination ARN {} is invalid: lambent cannot deliver to SNS topics; use a "
          "function or a queue of this lambent.",
          arn)));
    case async::DestinationKind::kEventBus:
      return tl::unexpected(Error::Invalid(fmt::format(
          "The destination ARN {} is invalid: lambent cannot deliver to EventBridge event buses; "
          "use a function or a queue of this lambent.",
          arn)));
    case async::DestinationKind::kUnknown:
      break;
  }
  return tl::unexpected(Error::Invalid(fmt::format("The destination ARN {} is invalid.", arn)));
}

// The request's settable fields, validated.
struct ConfigRequest {
  std::optional<int> max_retry_attempts;
  std::optional<int> max_event_age_s;
  bool has_destinations = false;
  DestinationFields destinations;
};

Result<ConfigRequest> ParseConfigRequest(const ApiContext& context, const std::string& function,
                                         const json& body) {
  ConfigRequest out;
  auto retries = OptionalLimit(body, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2);
  if (!retries) return tl::unexpected(retries.error());
  out.max_retry_attempts = *retries;
  auto age = OptionalLimit(body, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21600);
  if (!age) return tl::unexpected(age.error());
  out.max_event_age_s = *age;
  if (auto it = body.find("DestinationConfig"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return tl::unexpected(Error::Invalid(
          "1 validation error detected: Value at 'destinationConfig' must be an object"));
    }
    out.has_destinations = true;
    auto success = ParseSide(*it, "OnSuccess", "onSuccess");
    if (!success) return tl::unexpected(success.error());
    auto failure = ParseSide(*it, "OnFailure", "onFailure");
    if (!failure) return tl::unexpected(failure.error());
    out.destinations = {*success, *failure};
    for (const auto& side : {*success, *failure}) {
      if (!side) continue;
      if (auto ok = CheckDestination(context, function, *side); !ok) {
        return tl::unexpected(ok.error());
      }
    }
  }
  if (!out.max_retry_attempts && !out.max_event_age_s && !out.has_destinations) {
    return tl::unexpected(
        Error::Invalid("You must specify at least one of error handling or destination setting."));
  }
  return out;
}

// Put replaces the whole config; Update changes only what the request names.
http::Response Change(ApiContext& context, const FunctionRef& ref, const http::Request& request,
                      bool update) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (!context.registry.Find(ref.name)) return NoFunction();
  auto parsed = ParseConfigRequest(context, ref.name, *body);
  if (!parsed) return ErrorResponse(parsed.error());
  auto changed = context.registry.ChangeEventInvokeConfig(
      ref.name, ref.qualifier, update, [&](registry::EventInvokeConfig& config) -> Result<void> {
        if (!update) config = {};
        if (parsed->max_retry_attempts) config.max_retry_attempts = parsed->max_retry_attempts;
        if (parsed->max_event_age_s) config.max_event_age_s = parsed->max_event_age_s;
        if (parsed->destinations.on_success) config.on_success = *parsed->destinations.on_success;
        if (parsed->destinations.on_failure) config.on_failure = *parsed->destinations.on_failure;
        return Ok();
      });
  if (!changed) {
    if (changed.error().code() != ErrorCode::kNotFound) return ErrorResponse(changed.error());
    // The qualifier exists but has no config yet (Update), or nothing exists.
    if (update && context.registry.Resolve(ref.name, ref.qualifier)) return NoConfig(context, ref);
    return NoFunction();
  }
  return JsonResponse(200, ConfigJson(context, ref.name, Qualifier(ref), *changed));
}

http::Response Get(ApiContext& context, const FunctionRef& ref) {
  auto config = context.registry.FindEventInvokeConfig(ref.name, ref.qualifier);
  if (!config) return NoConfig(context, ref);
  return JsonResponse(200, ConfigJson(context, ref.name, Qualifier(ref), *config));
}

http::Response Delete(ApiContext& context, const FunctionRef& ref) {
  auto deleted = context.registry.DeleteEventInvokeConfig(ref.name, ref.qualifier);
  if (!deleted) {
    if (deleted.error().code() == ErrorCode::kNotFound) return NoConfig(context, ref);
    return ErrorResponse(deleted.error());
  }
  return http::MakeResponse(204, "", "");
}

http::Response List(ApiContext& context, const RequestTarget& target, const FunctionRef& ref) {
  auto page = ParsePage(target, kMaxListItems, kMaxListItems);
  if (!page) return ErrorResponse(page.error());
  auto settings = context.registry.Settings(ref.name);
  if (!settings) return NoFunction();
  json configs = json::array();
  std::string next;
  for (const auto& [qualifier, config] : settings->event_invoke) {
    if (qualifier < page->marker) continue;
    if (int(configs.size()) == page->max_items) {
      next = qualifier;
      break;
    }
    configs.push_back(ConfigJson(context, ref.name, qualifier, config));
  }
  json body{{"FunctionEventInvokeConfigs", std::move(configs)}};
  if (!next.empty()) body["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, body);
}

json EventJson(const async::EventEntry& entry) {
  return json{{"RequestId", entry.request_id},
              {"FunctionName", entry.function},
              {"Qualifier", entry.qualifier.empty() ? "$LATEST" : entry.qualifier},
              {"State", async::EventStateName(entry.state)},
              {"Attempts", entry.attempts},
              {"LastError", entry.last_error},
              {"EnqueuedAt", async::FormatIsoTimestamp(entry.enqueued_ms)},
              {"UpdatedAt", async::FormatIsoTimestamp(entry.updated_ms)}};
}

}  // namespace

void RouteEventInvokeConfig(ApiContext& context, const RequestTarget& target,
                            const FunctionRef& ref, http::Request& request,
                            http::Responder& respond) {
  const auto& s = target.segments;
  auto method = request.method();
  if (s.size() == 5 && s[4] == "list" && method == beast_http::verb::get) {
    if (!ref.qualifier.empty()) return respond(NoFunction());
    return respond(List(context, target, ref));
  }
  if (s.size() != 4)
    return respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
  switch (method) {
    case beast_http::verb::put:
      return respond(Change(context, ref, request, /*update=*/false));
    case beast_http::verb::post:
      return respond(Change(context, ref, request, /*update=*/true));
    case beast_http::verb::get:
      return respond(Get(context, ref));
    case beast_http::verb::delete_:
      return respond(Delete(context, ref));
    default:
      return respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
  }
}

void ListAsyncEvents(ApiContext& context, const RequestTarget& target, const std::string& function,
                     http::Responder& respond) {
  std::optional<async::EventState> state;
  if (auto text = target.Query("state"); text && !text->empty()) {
    state = async::ParseEventState(*text);
    if (!state) {
      return respond(ErrorResponse(Error::Invalid(fmt::format(
          "state must be one of queued, running, retrying, succeeded, failed, expired; got '{}'",
          text->substr(0, 64)))));
    }
  }
  size_t limit = 100;
  if (auto text = target.Query("limit")) {
    char* end = nullptr;
    long value = std::strtol(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || value < 1 || value > 1000) {
      return respond(ErrorResponse(Error::Invalid("limit must be a number from 1 to 1000")));
    }
    limit = size_t(value);
  }
  if (!context.registry.Find(function)) return respond(FunctionNotFound(context, function));
  json events = json::array();
  if (context.event_log) {
    for (const auto& entry : context.event_log->List(function, state, limit)) {
      events.push_back(EventJson(entry));
    }
  }
  respond(JsonResponse(200, json{{"Events", std::move(events)}}));
}

}  // namespace lambent::api
