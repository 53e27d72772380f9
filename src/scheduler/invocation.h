#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "registry/registry.h"

namespace lambent::scheduler {

// How an invocation ended, as the Invoke API reports it.
struct Outcome {
  std::string body;             // the function's result, or its error document
  bool function_error = false;  // X-Amz-Function-Error: Unhandled
  std::string log_tail;         // the invocation's last 4 KB of log, when asked for
  std::optional<Error> error;   // the platform could not run it (throttled, broken): no body
  // The function's response went to Invocation::stream as it was produced; `body` holds
  // only an error document then (a function error after or before its first piece).
  bool streamed = false;
};

// Takes a response the function streams (Runtime API response mode "streaming") while it is
// produced: InvokeWithResponseStream, a function URL in RESPONSE_STREAM mode. Called on the
// io thread, always before the invocation's `done`.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // The runtime began streaming, with this content type; once, before any piece.
  virtual void OnStreamStart(std::string_view content_type) = 0;
  // The next piece of the response, as the runtime sent it.
  virtual void OnStreamPiece(std::string_view piece) = 0;
};

// Where an invocation came from, for metering and metrics.
enum class InvocationSource : uint8_t { kInvoke, kStream, kEvent, kQueue, kUrl };
constexpr std::string_view SourceName(InvocationSource source) {
  switch (source) {
    case InvocationSource::kStream: return "stream";
    case InvocationSource::kEvent: return "event";
    case InvocationSource::kQueue: return "queue";
    case InvocationSource::kUrl: return "url";
    case InvocationSource::kInvoke: break;
  }
  return "invoke";
}

// One request to run a function. Owned by exactly one place at a time: the pool's queue,
// then the environment running it. `done` is called exactly once, on the io thread.
struct Invocation {
  std::string request_id;
  std::string payload;         // opaque bytes, moved into the runtime's /next response
  std::string client_context;  // decoded X-Amz-Client-Context JSON, empty if none
  std::string invoked_arn;     // as the caller named it (with a qualifier if given)
  // The caller's X-Amzn-Trace-Id, given to the runtime as Lambda-Runtime-Trace-Id; empty:
  // one is made when the invocation is delivered.
  std::string trace_id;
  InvocationSource source = InvocationSource::kInvoke;
  bool tail_log = false;
  // Where a streamed response goes; null: the caller wants it whole (a buffered Invoke gets
  // a streaming function's pieces joined, up to the synchronous response limit).
  std::shared_ptr<StreamSink> stream;
  registry::ConfigPtr config;
  std::function<void(Outcome)> done;
};

}  // namespace lambent::scheduler
