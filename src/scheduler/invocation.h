#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

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
};

// One request to run a function. Owned by exactly one place at a time: the pool's queue,
// then the environment running it. `done` is called exactly once, on the io thread.
struct Invocation {
  std::string request_id;
  std::string payload;         // opaque bytes, moved into the runtime's /next response
  std::string client_context;  // decoded X-Amz-Client-Context JSON, empty if none
  std::string invoked_arn;     // as the caller named it (with a qualifier if given)
  bool tail_log = false;
  registry::ConfigPtr config;
  std::function<void(Outcome)> done;
};

}  // namespace lambent::scheduler
