#include "scheduler/scheduler.h"

#include <algorithm>
#include <cerrno>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lambent::scheduler {

Pool::Pool(Scheduler& scheduler, std::string name)
    : scheduler_(scheduler), name_(std::move(name)), wait_timer_(scheduler.context_.io) {}

void Pool::Submit(std::unique_ptr<Invocation> invocation) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  if (scheduler_.stopping_) return;  // dropping it closes the caller's connection
  const auto& config = *invocation->config;
  latest_revision_ = config.revision_id;
  cpus_per_environment_ = scheduler_.context_.cgroups
                              ? sandbox::CpusForMemory(config.memory_mb, scheduler_.context_.cpu_floor)
                              : double(scheduler_.options_.scaling.cores);
  while (!idle_.empty()) {
    auto env = std::move(idle_.back());
    idle_.pop_back();
    if (env->dead()) continue;
    if (!Current(*env)) {
      env->Kill();
      continue;
    }
    invocation = AssignTo(env, std::move(invocation));
    if (!invocation) return;
  }
  // Throttled as on Lambda when the environments it would need pass the limit; those still
  // waiting for a start slot count as started.
  if (queue_.size() >= starting_.size() && !scheduler_.CanStartEnvironment(queue_.size() - starting_.size())) {
    Outcome throttled;
    throttled.error = Error(ErrorCode::kTooManyRequests, "Rate Exceeded.");
    auto done = std::move(invocation->done);
    done(std::move(throttled));
    return;
  }
  queue_.push_back({std::move(invocation), scheduler_.Now()});
  ScaleUp();
}

PoolLoad Pool::Load() const {
  PoolLoad load;
  load.queued = queue_.size();
  load.starting = starting_.size();
  load.busy = busy_.size();
  load.warm = warm_.value();
  load.cold = cold_.value();
  load.cpus_per_environment = cpus_per_environment_;
  if (load.cold) {
    auto overdue_at = scheduler_.Now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(*load.cold / 2);
    load.overdue = size_t(std::count_if(queue_.begin(), queue_.end(), [&](const Queued& q) { return q.since <= overdue_at; }));
  }
  return load;
}

void Pool::ScaleUp() {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  if (scheduler_.stopping_ || queue_.empty()) return;
  auto decision = DecideScaling(Load(), scheduler_.options_.scaling);
  for (size_t i = 0; i < decision.start && starting_.size() < queue_.size(); ++i) {
    if (!scheduler_.CanStartEnvironment() || !scheduler_.TakeStartSlot(this)) break;
    StartOne();
  }
  if (decision.waiting) ArmWaitTimer(decision.wait_budget);
}

void Pool::StartOne() {
  const auto& config = queue_.back().invocation->config;
  // A prestarted environment of the function's kind, or one started for it alone.
  EnvironmentPtr env = scheduler_.prestarter_ ? scheduler_.prestarter_->Take(config, *this) : nullptr;
  if (!env) {
    env = scheduler_.factory_(config, *this, EnvironmentKind::kOnDemand);
    if (auto started = env->Start(); !started) {
      scheduler_.ReleaseStartSlot();
      spdlog::error("function {}: cannot start an environment: {}", name_, started.error().message());
      auto invocation = std::move(queue_.front().invocation);
      queue_.pop_front();
      Outcome failed;
      // Out of descriptors despite the budget (other files, another process's share):
      // throttled, as the budget would have done, so the client retries.
      int err = started.error().sys_errno();
      bool throttled = err == EMFILE || err == ENFILE;
      failed.error = Error(throttled ? ErrorCode::kTooManyRequests : ErrorCode::kInternal,
                           throttled ? "Rate Exceeded." : started.error().message());
      invocation->done(std::move(failed));
      return;
    }
  }
  ++scheduler_.live_environments_;
  all_.insert(env);
  starting_[env.get()] = scheduler_.Now();
}

void Pool::StartEnded(ExecutionEnvironment* env) {
  auto it = starting_.find(env);
  if (it == starting_.end()) return;
  starting_.erase(it);
  scheduler_.ReleaseStartSlot();
}

std::unique_ptr<Invocation> Pool::AssignTo(const EnvironmentPtr& env, std::unique_ptr<Invocation> invocation) {
  busy_[env.get()] = scheduler_.Now();
  auto back = env->Assign(std::move(invocation));
  if (back) busy_.erase(env.get());
  return back;
}

void Pool::Dispatch(const EnvironmentPtr& env) {
  if (!Current(*env)) {
    env->Kill();
    return;
  }
  if (queue_.empty()) {
    idle_.push_back(env);
    return;
  }
  auto next = std::move(queue_.front());
  queue_.pop_front();
  if (auto back = AssignTo(env, std::move(next.invocation))) {
    queue_.push_front({std::move(back), next.since});
    ScaleUp();
  }
}

void Pool::OnAvailable(const EnvironmentPtr& env) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  auto now = scheduler_.Now();
  if (auto it = starting_.find(env.get()); it != starting_.end()) cold_.Add(now - it->second);
  StartEnded(env.get());
  if (auto it = busy_.find(env.get()); it != busy_.end()) {
    warm_.Add(now - it->second);
    busy_.erase(it);
  }
  Dispatch(env);
}

void Pool::OnDead(const EnvironmentPtr& env, std::optional<Outcome> init_failure,
                  std::unique_ptr<Invocation> undelivered) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  if (!all_.erase(env)) return;
  --scheduler_.live_environments_;
  StartEnded(env.get());
  busy_.erase(env.get());
  std::erase(idle_, env);
  // It never reached the runtime: first in line for the next environment.
  if (undelivered) queue_.push_front({std::move(undelivered), scheduler_.Now()});
  if (init_failure && !queue_.empty()) {
    // The invocation that waited longest gets the failed start's error; the rest get
    // environments of their own. A platform failure (no runtime ever ran) is not the
    // function's and leaves nothing in its log.
    auto invocation = std::move(queue_.front().invocation);
    queue_.pop_front();
    if (!init_failure->error) env->RecordFailedStart(*invocation, *init_failure);
    invocation->done(std::move(*init_failure));
  }
  ScaleUp();
}

void Pool::ArmWaitTimer(Millis budget) {
  auto now = scheduler_.Now();
  auto span = std::chrono::duration_cast<std::chrono::steady_clock::duration>(budget);
  std::optional<SteadyTime> next;
  for (const auto& q : queue_) {
    if (auto at = q.since + span; at > now && (!next || at < *next)) next = at;
  }
  if (!next) return;
  if (wait_deadline_ != SteadyTime{} && wait_deadline_ <= *next) return;
  wait_deadline_ = *next;
  wait_timer_.expires_after(*next - now);
  wait_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    wait_deadline_ = {};
    ScaleUp();
  });
}

void Pool::Retire(const registry::ConfigPtr& latest) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  latest_revision_ = latest ? latest->revision_id : "";
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& env : idle) env->Kill();
  auto queued = std::move(queue_);
  queue_.clear();
  for (auto& q : queued) {
    if (latest) {
      q.invocation->config = latest;
      queue_.push_back(std::move(q));
    } else {
      Outcome gone;
      gone.error = Error::NotFound("Function not found: " + name_);
      q.invocation->done(std::move(gone));
    }
  }
}

void Pool::StopIdleSince(SteadyTime cutoff) {
  std::vector<EnvironmentPtr> keep;
  for (auto& env : idle_) {
    if (env->idle_since() < cutoff) {
      env->Kill();
    } else {
      keep.push_back(env);
    }
  }
  idle_ = std::move(keep);
}

void Pool::StopAll() {
  wait_timer_.cancel();
  idle_.clear();
  auto all = all_;
  for (auto& env : all) env->Kill();
}

std::vector<EnvironmentStatus> Pool::Status() const {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  std::vector<EnvironmentStatus> list;
  for (const auto& env : all_) {
    if (!env->dead()) list.push_back(env->Status());
  }
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return a.startup.begin < b.startup.begin; });
  return list;
}

ScalingStatus Pool::Scaling() const {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  auto load = Load();
  ScalingStatus status;
  status.policy = DescribePolicy(load, scheduler_.options_.scaling);
  status.busy = busy_.size();
  status.idle = idle_.size();
  status.starting = starting_.size();
  status.queued = queue_.size();
  if (load.warm) status.warm_ms = load.warm->count();
  if (load.cold) status.cold_ms = load.cold->count();
  return status;
}

Scheduler::Scheduler(EnvironmentContext& context, SchedulerOptions options)
    : context_(context),
      options_(std::move(options)),
      factory_(options_.factory),
      clock_(options_.clock),
      sweep_timer_(context.io) {
  io_thread_.BindHere();
  if (!factory_) {
    factory_ = [&context](registry::ConfigPtr config, EnvironmentListener& listener, EnvironmentKind kind) {
      return std::make_shared<Environment>(context, std::move(config), listener, kind);
    };
  }
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (context.sandboxed && options_.prestart.per_shape > 0) {
    prestarter_ = std::make_unique<Prestarter>(context, options_.prestart, factory_, clock_);
  }
  Sweep();
}

void Scheduler::Invoke(std::unique_ptr<Invocation> invocation) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto& pool = pools_[invocation->config->name];
  if (!pool) pool = std::make_unique<Pool>(*this, invocation->config->name);
  pool->Submit(std::move(invocation));
}

void Scheduler::Retire(const std::string& function, const registry::ConfigPtr& latest) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto it = pools_.find(function);
  if (it != pools_.end()) it->second->Retire(latest);
}

void Scheduler::Shutdown() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  stopping_ = true;
  sweep_timer_.cancel();
  if (prestarter_) prestarter_->Shutdown();
  for (auto& [_, pool] : pools_) pool->StopAll();
}

void Scheduler::Reconsider() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  for (auto& [_, pool] : pools_) pool->ScaleUp();
}

size_t Scheduler::environments() const { return size_t(live_environments_); }

bool Scheduler::CanStartEnvironment(size_t pending) {
  uint64_t after = uint64_t(live_environments_) + pending;
  if (after >= uint64_t(options_.max_environments)) return false;
  uint64_t fds = (after + 1) * kFdsPerEnvironment;
  bool fits = fds <= options_.environment_fds;
  if (!fits && !fds_exhausted_) {
    spdlog::warn("{} environments hold the descriptors they may have ({}): throttling new ones",
                 live_environments_, options_.environment_fds);
  }
  fds_exhausted_ = !fits;
  return fits;
}

bool Scheduler::TakeStartSlot(Pool* pool) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (options_.max_parallel_starts <= 0 || starting_ < options_.max_parallel_starts) {
    ++starting_;
    return true;
  }
  if (std::find(slot_waiters_.begin(), slot_waiters_.end(), pool) == slot_waiters_.end()) {
    slot_waiters_.push_back(pool);
  }
  return false;
}

void Scheduler::ReleaseStartSlot() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  --starting_;
  if (slot_waiters_.empty() || slot_wake_posted_) return;
  // Posted: the pool that released the slot may be in the middle of its own bookkeeping.
  slot_wake_posted_ = true;
  boost::asio::post(context_.io, [this] {
    slot_wake_posted_ = false;
    auto waiters = std::move(slot_waiters_);
    slot_waiters_.clear();
    for (Pool* pool : waiters) pool->ScaleUp();
  });
}

void Scheduler::Sweep() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto now = Now();
  for (auto& [_, pool] : pools_) pool->StopIdleSince(now - options_.idle_timeout);
  if (prestarter_) prestarter_->Sweep(now);
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Sweep();
  });
}

std::vector<EnvironmentStatus> Scheduler::Environments(const std::string& function) const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto it = pools_.find(function);
  return it == pools_.end() ? std::vector<EnvironmentStatus>{} : it->second->Status();
}

std::vector<EnvironmentStatus> Scheduler::Prestarted() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  return prestarter_ ? prestarter_->Status() : std::vector<EnvironmentStatus>{};
}

std::map<std::string, ScalingStatus> Scheduler::Scaling() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  std::map<std::string, ScalingStatus> all;
  for (const auto& [name, pool] : pools_) {
    auto status = pool->Scaling();
    if (status.busy + status.idle + status.starting + status.queued > 0) all.emplace(name, std::move(status));
  }
  return all;
}

}  // namespace lambent::scheduler
