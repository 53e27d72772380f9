#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace lambent::scheduler {

using Millis = std::chrono::duration<double, std::milli>;

struct ScalingOptions {
  // Wait for a busy environment only when the function's warm invocations are at least this
  // many times shorter than its cold start; otherwise every waiting invocation gets an
  // environment of its own, as on Lambda.
  double wait_ratio = 4;
  // Environments a function keeps busy before waiting is considered: enough to use the
  // host's cores (`cores` / the vCPUs each environment may use), at least `min_busy`.
  int cores = 2;
  int min_busy = 2;
  int max_busy_floor = 64;
};

// A running mean of recent durations (an exponentially weighted one: the last ~10 count).
class RecentDuration {
 public:
  void Add(Millis sample);
  std::optional<Millis> value() const { return value_; }

 private:
  std::optional<Millis> value_;
};

// What a function's pool looks like when it decides whether to start environments.
struct PoolLoad {
  size_t queued = 0;    // invocations waiting for an environment
  size_t overdue = 0;   // of those, how many have waited past the wait budget
  size_t starting = 0;  // environments starting for the function
  size_t busy = 0;      // environments running an invocation
  std::optional<Millis> warm;  // recent time an environment is busy per invocation
  std::optional<Millis> cold;  // recent cold start
  double cpus_per_environment = 1;
};

// The decision, and why: for the daemon's log and `lambent status`.
struct ScalingDecision {
  size_t start = 0;  // environments to start now (before the concurrency limit)
  bool waiting = false;  // some queued invocations wait for busy environments instead
  Millis wait_budget{0};  // how long an invocation may wait before it gets its own
};

// Lambda starts an environment for every invocation that finds none free. For a function
// whose warm invocations are much shorter than its cold start, a busy environment frees
// long before a new one would be up, so starting one only adds an environment to share
// the cores (the throughput collapse at high concurrency). Such a function waits instead,
// as Knative's activator and OpenWhisk's invokers do, but only up to a budget (half a cold
// start): an invocation that waited that long gets an environment of its own, so a handler
// that turns slow still scales out. One invocation per environment at a time either way.
ScalingDecision DecideScaling(const PoolLoad& load, const ScalingOptions& options);

// The busy environments a function may have before it waits rather than scales.
size_t BusyFloor(double cpus_per_environment, const ScalingOptions& options);

// "scale out" or "wait up to N ms for a busy environment", with the figures behind it.
std::string DescribePolicy(const PoolLoad& load, const ScalingOptions& options);

}  // namespace lambent::scheduler
