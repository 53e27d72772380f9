#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lambent::scheduler {
class Scheduler;
}
namespace lambent::async {
class QueueEngine;
}

// The figures /metrics reads at scrape time rather than counts as they happen: what runs,
// what waits. Gathered in two halves, each on the thread its source wants, then rendered by
// Registry::Render off the io thread.
namespace lambent::metrics {

// One function version's environments and calls now.
struct VersionGauges {
  std::string function;
  std::string version;
  int64_t busy = 0;              // running an invocation (provisioned ones too)
  int64_t idle = 0;              // on-demand, warm, waiting for a call
  int64_t starting = 0;          // being started
  int64_t provisioned = 0;       // provisioned environments, busy or not
  int64_t provisioned_idle = 0;  // of those, ready and not running
  int64_t queued = 0;            // calls waiting for an environment
};

// One function's async event queue now.
struct AsyncQueueGauges {
  std::string function;
  int64_t depth = 0;          // events stored: ready, being run, or waiting out a retry delay
  int64_t oldest_age_ms = 0;  // age of the oldest of them; 0 when none
};

// One SQS-compatible queue now (the dashboard's; not exported as metrics).
struct QueueGauges {
  std::string name;
  int64_t visible = 0;
  int64_t in_flight = 0;
  int64_t delayed = 0;
  int64_t oldest_age_ms = 0;
};

struct Gauges {
  int64_t concurrent_executions = 0;  // account-wide: invocations running now
  int64_t concurrency_limit = 0;
  int64_t environments = 0;  // every live environment, prestarted ones included
  std::vector<VersionGauges> versions;
  std::vector<AsyncQueueGauges> async_queues;
};

// Reads the scheduler's figures into `gauges`. io thread only (the scheduler's); quick: one
// pass over the pools.
void GatherScheduler(const scheduler::Scheduler& scheduler, Gauges& gauges);

// Reads every function's async queue into `gauges`. Any thread: the engine answers from
// memory, under its own lock, once per queue (so better off the io thread).
void GatherAsyncQueues(async::QueueEngine& engine, Gauges& gauges);

// The SQS-compatible queues (every queue that is not a function's async queue), by name. Any
// thread, as GatherAsyncQueues.
std::vector<QueueGauges> GatherQueues(async::QueueEngine& engine);

}  // namespace lambent::metrics
