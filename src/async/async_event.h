#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambent::async {

// The internal queue of a function's asynchronous invocations. The dot keeps it apart from
// the queues users will create through the SQS API, whose names cannot contain one.
std::string AsyncQueueName(std::string_view function);
// The function an async queue belongs to; nullopt for any other queue.
std::optional<std::string> FunctionOfAsyncQueue(std::string_view queue);

// What a queued event carries besides its payload (the message body) and its request id
// (the message id): what a later attempt needs to run as the first one would have. Stored
// as the message's attributes, JSON.
struct AsyncEvent {
  std::string qualifier;          // as invoked; resolved again at each delivery
  std::string invoked_arn;        // as the caller named the function
  std::string client_context;     // decoded JSON, empty if none
  int attempts = 0;               // attempts that ended in a function error or timeout
  int64_t first_enqueued_ms = 0;  // epoch ms of the Invoke: the event's age counts from it

  std::string ToAttributes() const;
  // nullopt for attributes this code did not write.
  static std::optional<AsyncEvent> FromAttributes(std::string_view attributes);
};

}  // namespace lambent::async
