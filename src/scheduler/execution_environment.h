#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "registry/registry.h"
#include "scheduler/invocation.h"

// What the scheduler sees of an execution environment. Pools and the prestarter place
// invocations through this interface only, so their decisions can be unit-tested with fake
// environments and a fake clock (scheduler_test.cc); Environment is the real one.
namespace lambent::scheduler {

// When each step of an environment's cold start ended, as the daemon and init saw it (one
// clock: init reports CLOCK_MONOTONIC, which steady_clock is). Unset steps stay at epoch.
struct StartupTimeline {
  SteadyTime begin;            // Start(): the cold start begins
  SteadyTime launch_started;   // the launcher thread takes it up (after the launches before it)
  SteadyTime prepared;         // code and runtime mounts detached, cgroup made
  SteadyTime cloned;           // namespaces made, ids mapped, cgroup joined; init released
  SteadyTime launched;         // the io thread has the launch back (init runs meanwhile)
  SteadyTime init_started;     // init's main() (its execve and dynamic linking before it)
  SteadyTime sandboxed;        // mounts, pivot_root, limits, capabilities dropped, seccomp on
  SteadyTime runtime_started;  // the runtime's execve succeeded
  SteadyTime first_next;       // the runtime asked for its first event: init phase over
  // A prestarted environment: its runtime asked for a function (`ready`), was given one
  // (`adopted`: this function's cold start begins), and init had mounted the code (`assigned`).
  SteadyTime ready;
  SteadyTime adopted;
  SteadyTime assigned;
  // What the io thread itself spent: on Start() and taking the launch back; on Adopt().
  std::chrono::nanoseconds start_io{0};
  std::chrono::nanoseconds adopt_io{0};
};

// What an environment is doing, for the admin API.
struct EnvironmentStatus {
  std::string id;  // its log stream, as Lambda names one per environment
  std::string state;  // "prestarting", "prestarted", "initializing", "idle" or "busy"
  std::string runtime;
  int memory_mb = 0;
  bool prestarted = false;  // started before it had a function (Prestarter)
  bool provisioned = false;  // provisioned concurrency
  std::string version;
  std::string revision_id;
  pid_t init_pid = -1;
  bool from_zygote = false;  // its runtime was forked from the python zygote
  int64_t invocations = 0;
  StartupTimeline startup;
};

class ExecutionEnvironment;
using EnvironmentPtr = std::shared_ptr<ExecutionEnvironment>;

// Told about an environment's life; implemented by its pool. Called on the io thread.
class EnvironmentListener {
 public:
  virtual ~EnvironmentListener() = default;
  // The environment can take an invocation: Assign() may be called. Said when the runtime
  // first asks for work and again as soon as it has answered an invocation: its next
  // /next is microseconds away, a new environment milliseconds. For a prestarted environment
  // without a function: its runtime waits for one, and Adopt() may be called.
  virtual void OnAvailable(const EnvironmentPtr& env) = 0;
  // The environment is gone. `init_failure` is set when it died before it was ready: the
  // error document the invocation that waited for it should get. `undelivered` is an
  // invocation assigned to it that the runtime never received; it can run elsewhere.
  virtual void OnDead(const EnvironmentPtr& env, std::optional<Outcome> init_failure,
                      std::unique_ptr<Invocation> undelivered) = 0;
};

enum class EnvironmentKind {
  kOnDemand,    // started for one function
  kPrestarted,  // started ahead of demand with a stand-in config; Adopt() gives it its function
  kProvisioned, // provisioned concurrency: initialised ahead of demand for one version, kept
                // however long it idles; its init has Lambda's longer provisioned budget and
                // its first REPORT no Init Duration
};

class ExecutionEnvironment {
 public:
  virtual ~ExecutionEnvironment() = default;

  // Launches the environment; the listener hears OnAvailable once its runtime asks for its
  // first event (or, prestarted, for a function), or OnDead. An error here means nothing
  // was started.
  virtual Result<void> Start() = 0;
  // Makes a prestarted environment, after OnAvailable, `config`'s, reporting to `listener`
  // from then on. On error the environment is unchanged (and should be killed).
  virtual Result<void> Adopt(registry::ConfigPtr config, EnvironmentListener& listener) = 0;
  // Runs `invocation` here; only after OnAvailable and before the next Assign. Gives it back
  // when the runtime can no longer take it (the environment is then not available until
  // its runtime asks again): run it elsewhere.
  [[nodiscard]] virtual std::unique_ptr<Invocation> Assign(std::unique_ptr<Invocation> invocation) = 0;
  // Ends the environment; an invocation in it fails. OnDead follows, posted.
  virtual void Kill() = 0;
  // After a failed start (OnDead's `init_failure`): records it as the failed request of
  // `invocation`, as Lambda does.
  virtual void RecordFailedStart(const Invocation& invocation, Outcome& failure) const = 0;

  virtual const registry::FunctionConfig& config() const = 0;
  virtual EnvironmentStatus Status() const = 0;
  virtual bool dead() const = 0;
  virtual SteadyTime idle_since() const = 0;
};

// Makes (does not start) an environment; Scheduler's default makes Environments.
using EnvironmentFactory =
    std::function<EnvironmentPtr(registry::ConfigPtr config, EnvironmentListener& listener, EnvironmentKind kind)>;

// The scheduler's clock: steady_clock::now in the daemon, a hand-moved one in tests.
using ClockFn = std::function<SteadyTime()>;

}  // namespace lambent::scheduler
