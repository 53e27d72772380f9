#include "scheduler/scaling_policy.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace lambent::scheduler {
namespace {

constexpr double kWeight = 0.1;  // of each new sample: about the last ten count

bool MayWait(const PoolLoad& load, const ScalingOptions& options) {
  return load.warm && load.cold && load.warm->count() * options.wait_ratio <= load.cold->count();
}

}  // namespace

void RecentDuration::Add(Millis sample) {
  value_ = value_ ? Millis(value_->count() + kWeight * (sample.count() - value_->count())) : sample;
}

size_t BusyFloor(double cpus_per_environment, const ScalingOptions& options) {
  double per_env = std::max(cpus_per_environment, 0.01);
  auto floor = size_t(std::ceil(options.cores / per_env));
  return std::clamp(floor, size_t(std::max(options.min_busy, 1)), size_t(std::max(options.max_busy_floor, 1)));
}

ScalingDecision DecideScaling(const PoolLoad& load, const ScalingOptions& options) {
  ScalingDecision decision;
  size_t unserved = load.queued > load.starting ? load.queued - load.starting : 0;
  if (!MayWait(load, options)) {
    decision.start = unserved;
    return decision;
  }
  decision.wait_budget = *load.cold / 2;
  // Each busy environment serves, within the budget, the invocations that fit in it one
  // after another; the rest need environments of their own.
  double per_env = load.warm->count() > 0 ? decision.wait_budget / *load.warm : double(load.queued);
  auto covered = size_t(std::min(double(load.busy) * std::floor(per_env), double(load.queued)));
  size_t need = std::max(load.overdue, load.queued - covered);
  decision.start = need > load.starting ? need - load.starting : 0;
  // Below the floor the cores are not all in use: more environments add throughput.
  size_t floor = BusyFloor(load.cpus_per_environment, options);
  size_t running = load.busy + load.starting;
  if (running < floor) decision.start = std::max(decision.start, std::min(unserved, floor - running));
  decision.waiting = decision.start < unserved;
  return decision;
}

std::string DescribePolicy(const PoolLoad& load, const ScalingOptions& options) {
  if (!load.warm || !load.cold) return "scale out (no warm and cold durations measured yet)";
  std::string figures = fmt::format("warm {:.2f} ms, cold start {:.1f} ms", load.warm->count(), load.cold->count());
  if (!MayWait(load, options)) return fmt::format("scale out ({})", figures);
  return fmt::format("wait up to {:.1f} ms for a busy environment past {} busy ({})", load.cold->count() / 2,
                     BusyFloor(load.cpus_per_environment, options), figures);
}

}  // namespace lambent::scheduler
