#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "base/thread_check.h"

#include "scheduler/environment.h"
#include "scheduler/execution_environment.h"
#include "scheduler/memory_budget.h"
#include "scheduler/pool.h"
#include "scheduler/prestarter.h"
#include "scheduler/scaling_policy.h"

namespace lambent::scheduler {

// Descriptors an environment holds in the daemon, for the descriptor budget below: 5
// measured (Runtime API and control sockets, output pipe, cgroup files for memory and
// freezing), one more for a second Runtime API connection.
inline constexpr uint64_t kFdsPerEnvironment = 6;

struct SchedulerOptions {
  int max_environments = 1000;  // live environments, all kinds: more at once are throttled
  // Lambda's account concurrency: invocations running at once, all functions together.
  int concurrency_limit = 1000;
  // What reservations must leave to the functions without one (Lambda keeps 100).
  int unreserved_floor = 100;
  // The sum of MemorySize of every live environment (prestarted and provisioned included)
  // stays under this; idle environments of other functions are stopped, least recently
  // used first, to make room, and a call that still does not fit is throttled. 0: none.
  int64_t memory_budget_mb = 0;
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

// Memory and concurrency across all functions.
struct HostStatus {
  int64_t memory_budget_mb = 0;  // 0: none
  int64_t memory_in_use_mb = 0;
  int concurrency_limit = 0;
  int unreserved_floor = 0;
  int running = 0;  // invocations running now (Lambda's concurrent executions)
  std::map<std::string, int> reserved;  // by function
  size_t prestarted = 0;
  uint64_t evictions = 0;  // idle environments stopped to make room in the memory budget
};

// Places invocations on environments: reuses warm ones, starts more on demand up to the
// concurrency limit, stops idle ones after a while (scale to zero). io thread only.
class Scheduler {
 public:
  Scheduler(EnvironmentContext& context, SchedulerOptions options);

  // Runs an invocation; its `done` is called once with the outcome.
  void Invoke(std::unique_ptr<Invocation> invocation);
  // A version changed (`latest`: only $LATEST can) or is gone (null): see Pool::Retire.
  void Retire(const std::string& function, const std::string& version, const registry::ConfigPtr& latest);
  // The function is gone with all its versions: their environments stop, their provisioned
  // concurrency and reservation are dropped.
  void RetireFunction(const std::string& function);
  // Reserved concurrency of a function (nullopt: none). Calls beyond it are throttled with
  // ReservedFunctionConcurrentInvocationLimitExceeded, and it is held back from the others.
  void SetReservedConcurrency(const std::string& function, std::optional<int> reserved);
  // Replaces the provisioned concurrency of `function`: by version, what to keep ready.
  void SetProvisioned(const std::string& function, std::map<std::string, ProvisionedTarget> by_version);
  ProvisionedStatus Provisioned(const std::string& function, const std::string& version) const;
  // Immutable after construction: any thread.
  int concurrency_limit() const { return options_.concurrency_limit; }
  int unreserved_floor() const { return options_.unreserved_floor; }
  // Graceful stop, first half: calls from now on are refused (503-like ServiceException,
  // "the daemon is stopping"); `drained` runs on the io thread once no invocation runs or
  // waits (at once if none does). Shutdown() may follow at any time.
  void Drain(std::function<void()> drained);
  // Stops every environment (daemon shutdown).
  void Shutdown();
  // Every pool reconsiders its scaling now; the wait timers do this on their own (tests
  // with a fake clock call it instead).
  void Reconsider();

  size_t environments() const;
  // The live environments of `function`, every version, oldest first.
  std::vector<EnvironmentStatus> Environments(const std::string& function) const;
  // The environments started ahead of demand that no function has taken yet.
  std::vector<EnvironmentStatus> Prestarted() const;
  // Each version with environments, provisioned concurrency or waiting invocations, sorted
  // by function and version.
  std::vector<ScalingStatus> Scaling() const;
  HostStatus Host() const;

 private:
  friend class Pool;
  void Sweep();
  // In-flight invocations of one function (Lambda's concurrency: admitted, not yet
  // answered), and its reservation.
  struct FunctionLoad {
    int running = 0;
    std::optional<int> reserved;
  };
  // Whether the function may take one more invocation now; the throttle when not.
  std::optional<Error> Admit(const FunctionLoad& load) const;
  Pool& PoolFor(const std::string& function, const std::string& version);
  // Whether one more environment may start now (concurrency and descriptor budget), with
  // `pending` more already promised to invocations waiting for a start slot.
  bool CanStartEnvironment(size_t pending = 0);
  // Room for an environment of `mb` in the memory budget, stopping idle environments of
  // other pools (prestarted ones first, then least recently used) when it is short. False:
  // nothing more can go.
  bool MakeRoom(int64_t mb, const Pool* for_pool);
  void CheckDrained();
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
  // By function, then version: every version runs in environments of its own. Two levels,
  // so that the invoke path looks a pool up by the names it has, without building a key.
  using VersionPools = std::map<std::string, std::unique_ptr<Pool>, std::less<>>;
  std::map<std::string, VersionPools, std::less<>> pools_;
  std::map<std::string, std::shared_ptr<FunctionLoad>, std::less<>> loads_;
  int running_unreserved_ = 0;  // in-flight invocations of functions without a reservation
  int running_ = 0;
  int reserved_total_ = 0;
  MemoryBudget memory_;
  uint64_t evictions_ = 0;
  bool draining_ = false;
  std::function<void()> drained_;
  std::unique_ptr<Prestarter> prestarter_;  // null: every environment starts on demand
  int live_environments_ = 0;
  int starting_ = 0;                   // holding start slots
  std::deque<Pool*> slot_waiters_;     // pools that want a start slot, first come first
  bool slot_wake_posted_ = false;
  bool stopping_ = false;
  bool fds_exhausted_ = false;  // logged once per episode
};

}  // namespace lambent::scheduler
