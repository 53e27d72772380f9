#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "scheduler/execution_environment.h"
#include "scheduler/scaling_policy.h"

namespace lambent::scheduler {

// How one version's pool scales and what it holds, for `lambent status` and the admin API.
struct ScalingStatus {
  std::string function;
  std::string version;
  std::string policy;  // DescribePolicy
  size_t busy = 0;         // running an invocation, provisioned or not
  size_t idle = 0;         // on-demand environments waiting for a call
  size_t provisioned = 0;  // provisioned environments, busy or not
  size_t starting = 0;
  size_t queued = 0;
  uint64_t throttles = 0;    // calls refused with 429 since the daemon started
  uint64_t cold_starts = 0;  // environments started on demand since the daemon started
  int64_t memory_mb = 0;     // MemorySize of its live environments together
  std::optional<double> warm_ms;
  std::optional<double> cold_ms;
};

// Provisioned concurrency asked of one version: `count` environments of `config` kept
// initialised ahead of demand.
struct ProvisionedTarget {
  registry::ConfigPtr config;
  int count = 0;
};

// Lambda's ProvisionedConcurrencyConfig status for one version.
struct ProvisionedStatus {
  int requested = 0;
  int allocated = 0;  // initialised and alive
  int available = 0;  // of those, not running an invocation
  std::string status;  // "IN_PROGRESS", "READY" or "FAILED"
  std::string reason;  // why FAILED
};

class Scheduler;

// The environments of one function version and the invocations waiting for them, with the
// version's provisioned concurrency. io thread only.
class Pool : public EnvironmentListener {
 public:
  Pool(Scheduler& scheduler, std::string function, std::string version);

  void Submit(std::unique_ptr<Invocation> invocation);
  // The version changed (`latest`: only $LATEST can) or is gone (null). Stops idle
  // environments; busy ones stop when their invocation ends. Queued invocations run on the
  // latest configuration, or fail as not found when the version is gone (with its
  // provisioned concurrency).
  void Retire(const registry::ConfigPtr& latest);
  // Keeps `count` provisioned environments of `config` (0: none); extras stop, idle ones
  // now and busy ones when their invocation ends.
  void SetProvisioned(registry::ConfigPtr config, int count);
  ProvisionedStatus Provisioned() const;
  bool has_provisioned() const { return provisioned_target_ > 0 || !provisioned_.empty(); }
  void StopIdleSince(SteadyTime cutoff);
  void StopAll();
  // Starts the environments the scaling policy and provisioned concurrency ask for now (a
  // start slot freed, an invocation waited past its budget, a provisioned one died).
  void ScaleUp();
  // The idle on-demand environment unused longest, for the memory budget's eviction; null
  // when none is idle.
  const EnvironmentPtr* OldestIdle() const;
  // Stops `env` (one of OldestIdle's) to make room in the memory budget.
  void Evict(const EnvironmentPtr& env);
  void CountThrottle() { ++throttles_; }
  size_t environments() const { return all_.size(); }
  std::vector<EnvironmentStatus> Status() const;
  ScalingStatus Scaling() const;
  const std::string& function() const { return function_; }
  const std::string& version() const { return version_; }

  void OnAvailable(const EnvironmentPtr& env) override;
  void OnDead(const EnvironmentPtr& env, std::optional<Outcome> init_failure,
              std::unique_ptr<Invocation> undelivered) override;

 private:
  struct Queued {
    std::unique_ptr<Invocation> invocation;
    SteadyTime since;
  };

  void Dispatch(const EnvironmentPtr& env);
  // Assigns `invocation` to `env`; gives it back when the runtime can no longer take it.
  std::unique_ptr<Invocation> AssignTo(const EnvironmentPtr& env, std::unique_ptr<Invocation> invocation);
  // Starts an environment for the queue; false when none could start (the invocation that
  // needed it has its answer).
  bool StartOne();
  // Starts an environment of `kind` for `config` and books it; the error when none started.
  Result<EnvironmentPtr> Launch(const registry::ConfigPtr& config, EnvironmentKind kind);
  void StartProvisioned();
  void StartEnded(ExecutionEnvironment* env);
  // Fails the newest queued invocation with `error` (it asked for an environment that
  // cannot start now).
  void Refuse(Error error);
  PoolLoad Load() const;
  void ArmWaitTimer(Millis budget);
  void ArmProvisionedRetry();
  bool Current(const ExecutionEnvironment& env) const { return env.config().revision_id == latest_revision_; }
  bool IsProvisioned(ExecutionEnvironment* env) const { return provisioned_.contains(env); }

  Scheduler& scheduler_;
  const std::string function_;
  const std::string version_;
  std::string latest_revision_;
  std::deque<Queued> queue_;
  std::vector<EnvironmentPtr> idle_;              // on-demand, most recently used last
  std::vector<EnvironmentPtr> idle_provisioned_;  // most recently used last
  std::set<EnvironmentPtr> all_;
  std::map<ExecutionEnvironment*, SteadyTime> starting_;  // since when
  std::map<ExecutionEnvironment*, SteadyTime> busy_;      // since when
  RecentDuration warm_;
  RecentDuration cold_;
  double cpus_per_environment_ = 1;
  boost::asio::steady_timer wait_timer_;
  SteadyTime wait_deadline_;  // of the armed timer; epoch: not armed
  uint64_t throttles_ = 0;
  uint64_t cold_starts_ = 0;

  // Provisioned concurrency.
  registry::ConfigPtr provisioned_config_;
  int provisioned_target_ = 0;
  std::set<ExecutionEnvironment*> provisioned_;       // starting, idle or busy
  int provisioned_failures_ = 0;                       // in a row; backs retries off
  std::string provisioned_failure_;                    // the last one's reason
  boost::asio::steady_timer provisioned_retry_;
  bool provisioned_retry_armed_ = false;
};

}  // namespace lambent::scheduler
