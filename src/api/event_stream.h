#pragma once

#include <string>
#include <string_view>

namespace lambent::api {

// One message of AWS's event-stream encoding (application/vnd.amazon.eventstream), as the
// SDKs decode InvokeWithResponseStream: a prelude (total and header lengths, its CRC32), the
// string headers :event-type, :content-type and :message-type "event", the payload, and the
// CRC32 of all before it. The payload is copied once, into the message.
std::string EventStreamMessage(std::string_view event_type, std::string_view content_type,
                               std::string_view payload);

}  // namespace lambent::api
