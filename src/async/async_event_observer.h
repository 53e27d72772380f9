#pragma once

#include <string_view>

namespace lambent::async {

// Why an event ended without a successful run.
enum class DropReason {
  kRetriesExhausted,  // its last attempt failed
  kEventAgeExceeded,  // older than its MaximumEventAgeInSeconds before it could run (again)
  kUnrunnable,        // its function was deleted, or its stored attributes are unreadable
};

// Hears what becomes of asynchronous events: the counts behind Lambda's AsyncEventsReceived,
// AsyncEventsDropped, DeadLetterErrors and DestinationDeliveryFailures. `function` is the
// function the event was for, `qualifier` what it was invoked with ("" for unqualified).
// Called on the io thread: must not block.
class AsyncEventObserver {
 public:
  virtual ~AsyncEventObserver() = default;
  // The event is durable and will run.
  virtual void OnAsyncEventReceived(std::string_view function, std::string_view qualifier) = 0;
  // The event will not run again: as on Lambda, counted whether or not its record then went to
  // an OnFailure destination or the event to a dead-letter queue.
  virtual void OnAsyncEventDropped(std::string_view function, std::string_view qualifier,
                                   DropReason reason) = 0;
  // The event could not be sent to its dead-letter queue.
  virtual void OnDeadLetterError(std::string_view function, std::string_view qualifier) = 0;
  // Its record could not be sent to its OnSuccess / OnFailure destination.
  virtual void OnDestinationDeliveryFailure(std::string_view function,
                                            std::string_view qualifier) = 0;
};

}  // namespace lambent::async
