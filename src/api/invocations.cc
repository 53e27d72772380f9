#include "api/invocations.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/errors.h"
#include "base/clock.h"
#include "base/encoding.h"
#include "base/ids.h"

namespace lambent::api {

namespace beast_http = http::beast_http;

namespace {

std::string HeaderValue(const http::Request& request, std::string_view name) {
  auto it = request.find(name);
  return it == request.end() ? std::string() : std::string(it->value());
}

// Uniform in [0, 1): which way a weighted alias sends this call. A generator per thread
// (the io thread in practice) needs no lock on the invoke path.
double Pick() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return double(generator() - std::minstd_rand::min()) /
         (double(std::minstd_rand::max() - std::minstd_rand::min()) + 1.0);
}

http::Response InvokeResponse(scheduler::Outcome& outcome, const std::string& request_id,
                              const std::string& version) {
  if (outcome.error) {
    auto response = ErrorResponse(*outcome.error);
    response.set("x-amzn-RequestId", request_id);
    return response;
  }
  auto response = http::MakeResponse(200, std::move(outcome.body));
  response.set("x-amzn-RequestId", request_id);
  response.set("X-Amz-Executed-Version", version);
  if (outcome.function_error) response.set("X-Amz-Function-Error", "Unhandled");
  if (!outcome.log_tail.empty()) response.set("X-Amz-Log-Result", Base64Encode(outcome.log_tail));
  return response;
}

// Finds where a document stops being JSON, without building it.
class SyntaxErrorFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    position_ = position;
    what_ = e.what();
    return false;
  }

  std::size_t position_ = 0;
  std::string what_;
};

// One message that says what is wrong and where: "Could not parse request body into json:
// syntax error while parsing object key - invalid literal; last read: '{no'; expected string
// literal (line 1, column 3)".
std::string PayloadError(std::string_view payload) {
  SyntaxErrorFinder finder;
  nlohmann::json::sax_parse(payload, &finder);
  // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: <why>".
  std::string why = finder.what_;
  if (auto colon = why.find(": "); colon != std::string::npos) why.erase(0, colon + 2);
  if (why.size() > 300) why = why.substr(0, 300) + "...";
  size_t end = std::min(finder.position_, payload.size());
  size_t line = 1 + size_t(std::count(payload.begin(), payload.begin() + end, '\n'));
  size_t line_start = payload.rfind('\n', end == 0 ? 0 : end - 1);
  size_t column = line_start == std::string_view::npos || line == 1 ? end : end - line_start - 1;
  return fmt::format("Could not parse request body into json: {} (line {}, column {})", why, line,
                     column);
}

// Stores an Event invocation and answers 202 only once it is durable: from then on it runs
// even if the daemon is killed. Its qualifier is resolved again at delivery, as Lambda does.
// `legacy`: InvokeAsync's answer, {"Status": 202}, rather than Invoke's empty one.
void EnqueueEvent(ApiContext& context, const std::string& name, const std::string& qualifier,
                  std::string payload, std::string client_context, http::Responder respond,
                  bool legacy = false) {
  std::string id = NewRequestId();
  async::AsyncEvent event;
  event.qualifier = qualifier;
  event.invoked_arn = context.FunctionArn(name, qualifier);
  event.client_context = std::move(client_context);
  event.first_enqueued_ms = NowEpochMs();
  // std::function needs a copyable callable; the responder is move-only.
  auto responder = std::make_shared<http::Responder>(std::move(respond));
  auto stored_done = [responder, id, legacy](Result<void> stored) {
    if (!stored) {
      spdlog::warn("async invoke {} not stored: {}", id, stored.error().message());
      // A full backlog is the client's cue to slow down (429), a stopping daemon a 503.
      ErrorCode code = stored.error().code();
      auto response = code == ErrorCode::kTooManyRequests || code == ErrorCode::kUnavailable
                          ? ErrorResponse(stored.error())
                          : ErrorResponse(500, "ServiceException", "The event could not be stored");
      response.set("x-amzn-RequestId", id);
      return (*responder)(std::move(response));
    }
    auto response = legacy ? http::MakeResponse(202, R"({"Status":202})", "application/json")
                           : http::MakeResponse(202, "", "");
    response.set("x-amzn-RequestId", id);
    (*responder)(std::move(response));
  };
  context.events->Enqueue(name, id, std::move(payload), std::move(event), std::move(stored_done));
}

}  // namespace

std::string TraceHeader(const http::Request& request) {
  auto it = request.find("X-Amzn-Trace-Id");
  if (it == request.end()) return {};
  std::string_view value = it->value();
  constexpr size_t kMaxTraceHeader = 512;
  bool printable = std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (value.empty() || value.size() > kMaxTraceHeader || !printable) return {};
  return std::string(value);
}

std::optional<CheckedInvoke> CheckInvoke(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
                                         http::Request& request, http::Responder& respond, bool streaming) {
  std::string qualifier = ref.qualifier;
  if (auto q = target.Query("Qualifier")) {
    if (!qualifier.empty() && *q != qualifier) {
      respond(ErrorResponse(Error::Invalid(
          "The derived qualifier from the function name does not match the specified qualifier.")));
      return std::nullopt;
    }
    qualifier = *q;
  }
  auto resolved = context.registry.Resolve(ref.name, qualifier, Pick());
  if (!resolved) {
    if (resolved.error().code() == ErrorCode::kNotFound) {
      respond(ErrorResponse(Error::NotFound(
          fmt::format("Function not found: {}", context.FunctionArn(ref.name, qualifier)))));
    } else {
      respond(ErrorResponse(resolved.error()));
    }
    return std::nullopt;
  }

  std::string type = HeaderValue(request, "X-Amz-Invocation-Type");
  if (type.empty()) type = "RequestResponse";
  bool known = type == "RequestResponse" || type == "DryRun" || (type == "Event" && !streaming);
  if (!known) {
    respond(ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'invocationType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [{}]",
        type, streaming ? "RequestResponse, DryRun" : "Event, RequestResponse, DryRun"))));
    return std::nullopt;
  }
  std::string log_type = HeaderValue(request, "X-Amz-Log-Type");
  if (!log_type.empty() && log_type != "None" && log_type != "Tail") {
    respond(ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'logType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [None, Tail]",
        log_type))));
    return std::nullopt;
  }
  if (type == "Event" && request.body().size() > kAsyncPayloadLimit) {
    respond(ErrorResponse(413, "RequestTooLargeException",
                          fmt::format("Request must be smaller than {} bytes for the "
                                      "InvokeFunction operation",
                                      kAsyncPayloadLimit)));
    return std::nullopt;
  }

  std::string client_context;
  if (auto encoded = HeaderValue(request, "X-Amz-Client-Context"); !encoded.empty()) {
    auto decoded = Base64Decode(encoded);
    if (!decoded || !nlohmann::json::accept(*decoded)) {
      respond(ErrorResponse(400, "InvalidRequestContentException",
                            "Client context must be a valid Base64-encoded JSON object."));
      return std::nullopt;
    }
    client_context = std::move(*decoded);
  }

  // Lambda refuses a payload that is not JSON. accept() validates without building a
  // document, and the bytes are never copied: they move on to the runtime as they are.
  std::string& payload = request.body();
  if (payload.empty()) {
    payload = "{}";
  } else if (!nlohmann::json::accept(payload)) {
    respond(ErrorResponse(400, "InvalidRequestContentException", PayloadError(payload)));
    return std::nullopt;
  }
  if (type == "DryRun") {
    auto response = http::MakeResponse(204, "", "");
    response.set("x-amzn-RequestId", NewRequestId());
    respond(std::move(response));
    return std::nullopt;
  }
  CheckedInvoke checked;
  checked.config = std::move(resolved->config);
  checked.qualifier = std::move(qualifier);
  checked.type = std::move(type);
  checked.client_context = std::move(client_context);
  checked.tail_log = log_type == "Tail" && checked.type == "RequestResponse";
  return checked;
}

void Invoke(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
            http::Request request, http::Responder respond) {
  auto checked = CheckInvoke(context, ref, target, request, respond, /*streaming=*/false);
  if (!checked) return;
  const std::string& type = checked->type;
  const std::string& qualifier = checked->qualifier;
  std::string& payload = request.body();
  std::string& client_context = checked->client_context;
  registry::ConfigPtr config = std::move(checked->config);

  if (type == "Event" && context.events != nullptr) {
    return EnqueueEvent(context, ref.name, qualifier, std::move(payload), std::move(client_context),
                        std::move(respond));
  }

  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->trace_id = TraceHeader(request);
  invocation->request_id = NewRequestId();
  invocation->payload = std::move(payload);
  invocation->client_context = std::move(client_context);
  invocation->invoked_arn = context.FunctionArn(ref.name, qualifier);
  invocation->config = std::move(config);
  invocation->tail_log = checked->tail_log;

  if (type == "Event") {
    // No event store (a context without a daemon): accepted now, run from memory.
    auto response = http::MakeResponse(202, "", "");
    response.set("x-amzn-RequestId", invocation->request_id);
    invocation->done = [name = ref.name, id = invocation->request_id](scheduler::Outcome outcome) {
      if (outcome.error) spdlog::warn("async invoke {} of {}: {}", id, name, outcome.error->message());
    };
    context.scheduler.Invoke(std::move(invocation));
    return respond(std::move(response));
  }

  // std::function needs a copyable callable; the responder is move-only.
  auto responder = std::make_shared<http::Responder>(std::move(respond));
  invocation->done = [responder, id = invocation->request_id,
                      version = invocation->config->version](scheduler::Outcome outcome) {
    (*responder)(InvokeResponse(outcome, id, version));
  };
  context.scheduler.Invoke(std::move(invocation));
}

void InvokeAsync(ApiContext& context, const FunctionRef& ref, http::Request request,
                 http::Responder respond) {
  if (!context.registry.Resolve(ref.name, ref.qualifier)) {
    return respond(ErrorResponse(Error::NotFound(
        fmt::format("Function not found: {}", context.FunctionArn(ref.name, ref.qualifier)))));
  }
  // The gateway caps the body at kAsyncPayloadLimit; a spooled one that got past is refused.
  if (request.body().size() > kAsyncPayloadLimit) {
    return respond(ErrorResponse(413, "RequestTooLargeException",
                                 fmt::format("Request must be smaller than {} bytes for the "
                                             "InvokeAsync operation",
                                             kAsyncPayloadLimit)));
  }
  std::string& payload = request.body();
  if (payload.empty()) {
    payload = "{}";
  } else if (!nlohmann::json::accept(payload)) {
    return respond(ErrorResponse(400, "InvalidRequestContentException", PayloadError(payload)));
  }
  if (context.events == nullptr) {
    return respond(ErrorResponse(503, "ServiceException", "Asynchronous invocation is not served"));
  }
  EnqueueEvent(context, ref.name, ref.qualifier, std::move(payload), {}, std::move(respond),
               /*legacy=*/true);
}

}  // namespace lambent::api
