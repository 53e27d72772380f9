#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "base/thread_check.h"

#include "scheduler/environment.h"
#include "scheduler/execution_environment.h"
#include "scheduler/prestarter.h"
#include "scheduler/scaling_policy.h"

namespace lambent::scheduler {

// Descriptors an environment holds in the daemon, for the descriptor budget below: 5
// measured (Runtime API and control sockets, output pipe, cgroup files for memory and
// freezing), one more for a second Runtime API connection.
inline constexpr uint64_t kFdsPerEnvironment = 6;

struct SchedulerOptions {
  int max_environments = 1000;  // the account's concurrency: more at once are throttled
  std::chrono::seconds idle_timeout{600};  // a warm environment unused this long is stopped
  PrestartOptions prestart;  // used only when environments are sandboxed
  // Descriptors environments may hold together: a new environment that would pass it is
  // throttled like one past max_environments, rather than failing with EMFILE mid-start.
  uint64_t environment_fds = UINT64_MAX;
  ScalingOptions scaling;
  // Environments starting at once, all functions together: cold starts are CPU-bound, and
  // more of them than cores only makes every one of them late (a burst's first environments
  // are up, and serving, sooner when they start a few at a time). 0: no limit.
  int max_parallel_starts = 4;
  // The seam for unit tests; unset: real Environments and steady_clock.
  EnvironmentFactory factory;
  ClockFn clock;
};

// How a function's pool scales, for `lambent status` and the admin API.
struct ScalingStatus {
  std::string policy;  // DescribePolicy
  size_t busy = 0;
  size_t idle = 0;
  size_t starting = 0;
  size_t queued = 0;
  std::optional<double> warm_ms;
  std::optional<double> cold_ms;
};

class Scheduler;

// The environments of one function and the invocations waiting for them. io thread only.
class Pool : public EnvironmentListener {
 public:
  Pool(Scheduler& scheduler, std::string name);

  void Submit(std::unique_ptr<Invocation> invocation);
  // The function changed (`latest`) or is gone (null). Stops idle environments; busy ones
  // stop when their invocation ends. Queued invocations run on the latest configuration,
  // or fail as not found when the function is gone.
  void Retire(const registry::ConfigPtr& latest);
  void StopIdleSince(SteadyTime cutoff);
  void StopAll();
  // Starts the environments the scaling policy asks for now (a start slot freed, an
  // invocation waited past its budget).
  void ScaleUp();
  size_t environments() const { return all_.size(); }
  std::vector<EnvironmentStatus> Status() const;
  ScalingStatus Scaling() const;

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
  void StartOne();
  void StartEnded(ExecutionEnvironment* env);
  PoolLoad Load() const;
  void ArmWaitTimer(Millis budget);
  bool Current(const ExecutionEnvironment& env) const { return env.config().revision_id == latest_revision_; }

  Scheduler& scheduler_;
  const std::string name_;
  std::string latest_revision_;
  std::deque<Queued> queue_;
  std::vector<EnvironmentPtr> idle_;  // most recently used last
  std::set<EnvironmentPtr> all_;
  std::map<ExecutionEnvironment*, SteadyTime> starting_;  // since when
  std::map<ExecutionEnvironment*, SteadyTime> busy_;      // since when
  RecentDuration warm_;
  RecentDuration cold_;
  double cpus_per_environment_ = 1;
  boost::asio::steady_timer wait_timer_;
  SteadyTime wait_deadline_;  // of the armed timer; epoch: not armed
};

// Places invocations on environments: reuses warm ones, starts more on demand up to the
// concurrency limit, stops idle ones after a while (scale to zero). io thread only.
class Scheduler {
 public:
  Scheduler(EnvironmentContext& context, SchedulerOptions options);

  // Runs an invocation; its `done` is called once with the outcome.
  void Invoke(std::unique_ptr<Invocation> invocation);
  // The function changed (`latest`) or is gone (null): see Pool::Retire.
  void Retire(const std::string& function, const registry::ConfigPtr& latest);
  // Stops every environment (daemon shutdown).
  void Shutdown();
  // Every pool reconsiders its scaling now; the wait timers do this on their own (tests
  // with a fake clock call it instead).
  void Reconsider();

  size_t environments() const;
  // The live environments of `function`, oldest first.
  std::vector<EnvironmentStatus> Environments(const std::string& function) const;
  // The environments started ahead of demand that no function has taken yet.
  std::vector<EnvironmentStatus> Prestarted() const;
  // How each function with environments or waiting invocations scales.
  std::map<std::string, ScalingStatus> Scaling() const;

 private:
  friend class Pool;
  void Sweep();
  // Whether one more environment may start now (concurrency and descriptor budget), with
  // `pending` more already promised to invocations waiting for a start slot.
  bool CanStartEnvironment(size_t pending = 0);
  // A start slot for `pool` (max_parallel_starts); false: it is queued for the next free one.
  bool TakeStartSlot(Pool* pool);
  void ReleaseStartSlot();
  SteadyTime Now() const { return clock_(); }

  EnvironmentContext& context_;
  ThreadAffinity io_thread_;  // the constructing thread: the io thread; its pools share it
  SchedulerOptions options_;
  EnvironmentFactory factory_;
  ClockFn clock_;
  boost::asio::steady_timer sweep_timer_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::unique_ptr<Prestarter> prestarter_;  // null: every environment starts on demand
  int live_environments_ = 0;
  int starting_ = 0;                   // holding start slots
  std::deque<Pool*> slot_waiters_;     // pools that want a start slot, first come first
  bool slot_wake_posted_ = false;
  bool stopping_ = false;
  bool fds_exhausted_ = false;  // logged once per episode
};

}  // namespace lambent::scheduler
