#pragma once

#include <functional>
#include <string>

#include "async/async_event.h"
#include "base/error.h"

namespace lambent::async {

// Where the API hands an asynchronous invocation (`X-Amz-Invocation-Type: Event`). An
// interface, so that the API depends on no queue engine or poller: the daemon plugs in
// AsyncInvoker. io thread only.
class EventSink {
 public:
  virtual ~EventSink() = default;

  // Stores the event of `function` for delivery with `request_id` (kept across retries).
  // `stored` is called once, on the io thread (possibly before this returns): Ok once the
  // event is durable and will run, or why it was not kept (kTooManyRequests: a backlog).
  virtual void Enqueue(const std::string& function, std::string request_id, std::string payload,
                       AsyncEvent event, std::function<void(Result<void>)> stored) = 0;
};

}  // namespace lambent::async
