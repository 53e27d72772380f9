#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "scheduler/environment.h"
#include "scheduler/prestarter.h"

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
};

class Scheduler;

// The environments of one function and the invocations waiting for them. io thread only.
class Pool : public EnvironmentListener {
 public:
  Pool(Scheduler& scheduler, std::string name) : scheduler_(scheduler), name_(std::move(name)) {}

  void Submit(std::unique_ptr<Invocation> invocation);
  // The function changed (`latest`) or is gone (null). Stops idle environments; busy ones
  // stop when their invocation ends. Queued invocations run on the latest configuration,
  // or fail as not found when the function is gone.
  void Retire(const registry::ConfigPtr& latest);
  void StopIdleSince(SteadyTime cutoff);
  void StopAll();
  size_t environments() const { return all_.size(); }
  std::vector<EnvironmentStatus> Status() const;

  void OnAvailable(const std::shared_ptr<Environment>& env) override;
  void OnDead(const std::shared_ptr<Environment>& env, std::optional<Outcome> init_failure,
              std::unique_ptr<Invocation> undelivered) override;

 private:
  void Dispatch(const std::shared_ptr<Environment>& env);
  void ScaleUp();
  bool Current(const Environment& env) const { return env.config().revision_id == latest_revision_; }

  Scheduler& scheduler_;
  const std::string name_;
  std::string latest_revision_;
  std::deque<std::unique_ptr<Invocation>> queue_;
  std::vector<std::shared_ptr<Environment>> idle_;  // most recently used last
  std::set<std::shared_ptr<Environment>> all_;
  std::set<Environment*> starting_;
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

  size_t environments() const;
  // The live environments of `function`, oldest first.
  std::vector<EnvironmentStatus> Environments(const std::string& function) const;
  // The environments started ahead of demand that no function has taken yet.
  std::vector<EnvironmentStatus> Prestarted() const;

 private:
  friend class Pool;
  void Sweep();
  // Whether one more environment may start now (concurrency and descriptor budget).
  bool CanStartEnvironment();

  EnvironmentContext& context_;
  SchedulerOptions options_;
  boost::asio::steady_timer sweep_timer_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::unique_ptr<Prestarter> prestarter_;  // null: every environment starts on demand
  int live_environments_ = 0;
  bool stopping_ = false;
  bool fds_exhausted_ = false;  // logged once per episode
};

}  // namespace lambent::scheduler
