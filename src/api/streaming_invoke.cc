// InvokeWithResponseStream: the function's response relayed as AWS event-stream messages
// while it is produced.
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/invocations.h"
#include "base/encoding.h"
#include "base/ids.h"
#include "base/json.h"
#include "http/event_stream.h"

namespace lambent::api {

namespace {

using nlohmann::json;

// The end of a stream: InvokeComplete, with the function's error type and message and the
// log tail when there are any.
json CompleteEvent(const scheduler::Outcome& outcome) {
  json complete = json::object();
  if (outcome.function_error) {
    auto doc = json::parse(outcome.body, nullptr, false);
    auto text = [&](const char* key) -> std::string {
      if (!doc.is_object()) return "";
      auto it = doc.find(key);
      return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
    };
    std::string type = text("errorType");
    std::string message = text("errorMessage");
    complete["ErrorCode"] = type.empty() ? "Unhandled" : type;
    complete["ErrorDetails"] = message.empty() && !doc.is_object() ? outcome.body : message;
  }
  if (!outcome.log_tail.empty()) complete["LogResult"] = Base64Encode(outcome.log_tail);
  return complete;
}

// Relays one invocation to its caller: the 200 and the event-stream header when the function
// starts streaming (or answers whole), a PayloadChunk per piece, InvokeComplete at the end.
class EventStreamRelay : public scheduler::StreamSink {
 public:
  EventStreamRelay(http::Responder respond, std::string request_id, std::string version)
      : respond_(std::move(respond)), request_id_(std::move(request_id)), version_(std::move(version)) {}

  void OnStreamStart(std::string_view) override { Start(); }

  void OnStreamPiece(std::string_view piece) override {
    if (writer_ && writer_->connected()) {
      writer_->Write(http::EventStreamMessage("PayloadChunk", "application/octet-stream", piece));
    }
  }

  void Finish(scheduler::Outcome outcome) {
    if (outcome.error && !writer_) {
      // Nothing was sent yet (throttled, no environment): an ordinary Lambda error.
      auto response = ErrorResponse(*outcome.error);
      response.set("x-amzn-RequestId", request_id_);
      return (*respond_)(std::move(response));
    }
    Start();
    if (!outcome.streamed && !outcome.function_error && !outcome.body.empty()) OnStreamPiece(outcome.body);
    scheduler::Outcome shown = std::move(outcome);
    if (shown.error) {
      shown.function_error = true;
      shown.body = DumpJson(json{{"errorType", "ServiceException"}, {"errorMessage", shown.error->message()}});
    }
    writer_->Write(http::EventStreamMessage("InvokeComplete", "application/json", DumpJson(CompleteEvent(shown))));
    writer_->End();
  }

 private:
  void Start() {
    if (writer_ || !respond_) return;
    http::ResponseHeader header;
    header.result(200);
    header.set(http::beast_http::field::content_type, "application/vnd.amazon.eventstream");
    header.set("x-amzn-RequestId", request_id_);
    header.set("X-Amz-Executed-Version", version_);
    writer_.emplace(respond_->Stream(std::move(header)));
    respond_.reset();
  }

  std::optional<http::Responder> respond_;
  std::optional<http::StreamWriter> writer_;
  std::string request_id_;
  std::string version_;
};

}  // namespace

void InvokeWithResponseStream(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
                              http::Request request, http::Responder respond) {
  auto checked = CheckInvoke(context, ref, target, request, respond, /*streaming=*/true);
  if (!checked) return;
  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->source = scheduler::InvocationSource::kStream;
  invocation->trace_id = TraceHeader(request);
  invocation->request_id = NewRequestId();
  invocation->payload = std::move(request.body());
  invocation->client_context = std::move(checked->client_context);
  invocation->invoked_arn = context.FunctionArn(ref.name, checked->qualifier);
  invocation->tail_log = checked->tail_log;
  auto relay = std::make_shared<EventStreamRelay>(std::move(respond), invocation->request_id,
                                                  checked->config->version);
  invocation->config = std::move(checked->config);
  invocation->stream = relay;
  invocation->done = [relay](scheduler::Outcome outcome) { relay->Finish(std::move(outcome)); };
  context.scheduler.Invoke(std::move(invocation));
}

}  // namespace lambent::api
