#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace lambent::http {

// One message of AWS's event-stream encoding (application/vnd.amazon.eventstream), as the
// SDKs decode InvokeWithResponseStream: a prelude (total and header lengths, its CRC32), the
// string headers :event-type, :content-type and :message-type "event", the payload, and the
// CRC32 of all before it. The payload is copied once, into the message.
std::string EventStreamMessage(std::string_view event_type, std::string_view content_type,
                               std::string_view payload);

// A decoded message: its :event-type (or, for an exception, :exception-type) and payload.
struct EventStreamEvent {
  std::string type;
  std::string payload;
  bool exception = false;  // :message-type "exception" or "error"
};

// Decodes a stream of messages fed in arbitrary pieces; checks lengths and both CRCs.
class EventStreamReader {
 public:
  void Add(std::string_view bytes) { pending_.append(bytes); }
  // The next whole message, nullopt until one is complete, or an error for a corrupt stream
  // (after which nothing more can be read from it).
  std::optional<Result<EventStreamEvent>> Next();

 private:
  std::string pending_;
  bool broken_ = false;
};

}  // namespace lambent::http
