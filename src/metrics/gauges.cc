#include "metrics/gauges.h"

#include "async/async_event.h"
#include "async/queue_engine.h"
#include "scheduler/scheduler.h"

namespace lambent::metrics {

void GatherScheduler(const scheduler::Scheduler& scheduler, Gauges& gauges) {
  auto host = scheduler.Host();
  gauges.concurrent_executions = host.running;
  gauges.concurrency_limit = host.concurrency_limit;
  gauges.environments = int64_t(scheduler.environments());
  for (const auto& s : scheduler.Scaling()) {
    VersionGauges v;
    v.function = s.function;
    v.version = s.version;
    v.busy = int64_t(s.busy);
    v.idle = int64_t(s.idle);
    v.starting = int64_t(s.starting);
    v.provisioned = int64_t(s.provisioned);
    v.queued = int64_t(s.queued);
    if (s.provisioned > 0) v.provisioned_idle = scheduler.Provisioned(s.function, s.version).available;
    gauges.versions.push_back(std::move(v));
  }
}

void GatherAsyncQueues(async::QueueEngine& engine, Gauges& gauges) {
  for (const auto& queue : engine.ListQueues()) {
    auto function = async::FunctionOfAsyncQueue(queue);
    if (!function) continue;  // an SQS queue, a destination's: not a function's events
    auto stats = engine.Stats(queue);
    if (!stats) continue;  // deleted since the listing
    gauges.async_queues.push_back(
        {*function, stats->visible + stats->in_flight + stats->delayed, stats->oldest_age_ms});
  }
}

std::vector<QueueGauges> GatherQueues(async::QueueEngine& engine) {
  std::vector<QueueGauges> queues;
  for (auto& queue : engine.ListQueues()) {
    if (async::FunctionOfAsyncQueue(queue)) continue;
    auto stats = engine.Stats(queue);
    if (!stats) continue;
    queues.push_back({std::move(queue), stats->visible, stats->in_flight, stats->delayed, stats->oldest_age_ms});
  }
  return queues;
}

}  // namespace lambent::metrics
