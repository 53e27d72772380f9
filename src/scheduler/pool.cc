#include "scheduler/pool.h"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "scheduler/scheduler.h"

namespace lambent::scheduler {
namespace {

// A provisioned environment that failed its init is started again after this, doubling
// with each failure in a row up to kProvisionedRetryMax.
constexpr std::chrono::milliseconds kProvisionedRetryFirst{500};
constexpr std::chrono::milliseconds kProvisionedRetryMax{30000};

// What a failed init said, for a provisioned config's StatusReason.
std::string FailureReason(const Outcome& failure) {
  if (failure.error) return failure.error->message();
  std::string body = failure.body.substr(0, 300);
  return "FUNCTION_ERROR_INIT_FAILURE: " + body;
}

}  // namespace

Pool::Pool(Scheduler& scheduler, std::string function, std::string version)
    : scheduler_(scheduler),
      function_(std::move(function)),
      version_(std::move(version)),
      wait_timer_(scheduler.context_.io),
      provisioned_retry_(scheduler.context_.io) {}

void Pool::Submit(std::unique_ptr<Invocation> invocation) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  if (scheduler_.stopping_) return;  // dropping it closes the caller's connection
  const auto& config = *invocation->config;
  latest_revision_ = config.revision_id;
  cpus_per_environment_ = scheduler_.context_.cgroups
                              ? sandbox::CpusForMemory(config.memory_mb, scheduler_.context_.cpu_floor)
                              : double(scheduler_.options_.scaling.cores);
  // Provisioned environments first: they are what the version keeps ready for its calls.
  for (auto* idle : {&idle_provisioned_, &idle_}) {
    while (!idle->empty()) {
      auto env = std::move(idle->back());
      idle->pop_back();
      if (env->dead()) continue;
      if (!Current(*env)) {
        env->Kill();
        continue;
      }
      invocation = AssignTo(env, std::move(invocation));
      if (!invocation) return;
    }
  }
  // Throttled as on Lambda when the environments it would need pass the limit; those still
  // waiting for a start slot count as started.
  if (queue_.size() >= starting_.size() && !scheduler_.CanStartEnvironment(queue_.size() - starting_.size())) {
    ++throttles_;
    Outcome throttled;
    throttled.error = Error::Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.");
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
  if (scheduler_.stopping_) return;
  StartProvisioned();
  if (queue_.empty()) return;
  auto decision = DecideScaling(Load(), scheduler_.options_.scaling);
  for (size_t i = 0; i < decision.start && starting_.size() < queue_.size(); ++i) {
    if (!scheduler_.CanStartEnvironment() || !scheduler_.TakeStartSlot(this)) break;
    if (!StartOne()) break;
  }
  if (decision.waiting) ArmWaitTimer(decision.wait_budget);
}

Result<EnvironmentPtr> Pool::Launch(const registry::ConfigPtr& config, EnvironmentKind kind) {
  // A prestarted environment of the function's kind, or one started for it alone.
  EnvironmentPtr env;
  if (kind == EnvironmentKind::kOnDemand && scheduler_.prestarter_) env = scheduler_.prestarter_->Take(config, *this);
  if (!env) {
    env = scheduler_.factory_(config, *this, kind);
    if (auto started = env->Start(); !started) return tl::unexpected(started.error());
  }
  scheduler_.memory_.Charge(env.get(), config->memory_mb);
  ++scheduler_.live_environments_;
  all_.insert(env);
  starting_[env.get()] = scheduler_.Now();
  return env;
}

bool Pool::StartOne() {
  const auto& config = queue_.back().invocation->config;
  if (!scheduler_.MakeRoom(config->memory_mb, this)) {
    scheduler_.ReleaseStartSlot();
    Refuse(Error::Throttled(
        "HostMemoryBudgetExceeded",
        fmt::format("Rate Exceeded. The host's memory budget ({} MB) is held by environments that "
                    "cannot be stopped now.",
                    scheduler_.memory_.budget_mb())));
    return false;
  }
  auto env = Launch(config, EnvironmentKind::kOnDemand);
  if (!env) {
    scheduler_.ReleaseStartSlot();
    spdlog::error("function {}: cannot start an environment: {}", function_, env.error().message());
    // Out of descriptors despite the budget (other files, another process's share):
    // throttled, as the budget would have done, so the client retries.
    int err = env.error().sys_errno();
    bool throttled = err == EMFILE || err == ENFILE;
    Refuse(throttled ? Error::Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
                     : Error::Internal(env.error().message()));
    return false;
  }
  ++cold_starts_;
  return true;
}

void Pool::Refuse(Error error) {
  if (error.code() == ErrorCode::kTooManyRequests) {
    ++throttles_;
    if (auto* observer = scheduler_.context_.observer) observer->OnThrottle(function_, version_, error.reason());
  }
  auto invocation = std::move(queue_.back().invocation);
  queue_.pop_back();
  Outcome failed;
  failed.error = std::move(error);
  invocation->done(std::move(failed));
}

void Pool::StartProvisioned() {
  if (!provisioned_config_ || provisioned_retry_armed_) return;
  while (int(provisioned_.size()) < provisioned_target_) {
    // Room comes from idle on-demand environments; a provisioned one is never evicted.
    if (!scheduler_.CanStartEnvironment() || !scheduler_.MakeRoom(provisioned_config_->memory_mb, this)) {
      provisioned_failure_ = fmt::format(
          "lambent cannot start more environments now: its memory budget ({} MB) or environment "
          "limit is reached",
          scheduler_.memory_.budget_mb());
      ArmProvisionedRetry();
      return;
    }
    // Provisioned starts go before on-demand ones and take no start slot: they were asked
    // for explicitly, and are few.
    auto env = Launch(provisioned_config_, EnvironmentKind::kProvisioned);
    if (!env) {
      provisioned_failure_ = env.error().message();
      ArmProvisionedRetry();
      return;
    }
    provisioned_.insert(env->get());
  }
}

void Pool::ArmProvisionedRetry() {
  if (provisioned_retry_armed_) return;
  provisioned_retry_armed_ = true;
  auto delay = std::min(kProvisionedRetryMax, kProvisionedRetryFirst * (1 << std::min(provisioned_failures_, 6)));
  ++provisioned_failures_;
  provisioned_retry_.expires_after(delay);
  provisioned_retry_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    provisioned_retry_armed_ = false;
    ScaleUp();
  });
}

void Pool::SetProvisioned(registry::ConfigPtr config, int count) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  provisioned_config_ = count > 0 ? std::move(config) : nullptr;
  // A published version never changes: its provisioned environments are current until it
  // is gone (before any call has named the revision).
  if (provisioned_config_) latest_revision_ = provisioned_config_->revision_id;
  provisioned_target_ = std::max(count, 0);
  provisioned_failures_ = 0;
  provisioned_failure_.clear();
  if (provisioned_retry_armed_) {
    provisioned_retry_armed_ = false;
    provisioned_retry_.cancel();
  }
  // Extras: idle ones stop now, busy and starting ones once they are available.
  while (int(provisioned_.size()) > provisioned_target_ && !idle_provisioned_.empty()) {
    auto env = std::move(idle_provisioned_.front());
    idle_provisioned_.erase(idle_provisioned_.begin());
    provisioned_.erase(env.get());
    env->Kill();
  }
  ScaleUp();
}

ProvisionedStatus Pool::Provisioned() const {
  ProvisionedStatus status;
  status.requested = provisioned_target_;
  for (auto* env : provisioned_) {
    if (env->dead() || starting_.contains(env)) continue;
    ++status.allocated;
    if (!busy_.contains(env)) ++status.available;
  }
  status.allocated = std::min(status.allocated, status.requested);
  status.available = std::min(status.available, status.allocated);
  if (status.allocated >= status.requested) {
    status.status = "READY";
  } else if (provisioned_failures_ > 0) {
    status.status = "FAILED";
    status.reason = provisioned_failure_;
  } else {
    status.status = "IN_PROGRESS";
  }
  return status;
}

void Pool::StartEnded(ExecutionEnvironment* env) {
  auto it = starting_.find(env);
  if (it == starting_.end()) return;
  starting_.erase(it);
  // Provisioned starts took no slot.
  if (!IsProvisioned(env)) scheduler_.ReleaseStartSlot();
}

std::unique_ptr<Invocation> Pool::AssignTo(const EnvironmentPtr& env, std::unique_ptr<Invocation> invocation) {
  busy_[env.get()] = scheduler_.Now();
  auto back = env->Assign(std::move(invocation));
  if (back) busy_.erase(env.get());
  return back;
}

void Pool::Dispatch(const EnvironmentPtr& env) {
  bool provisioned = IsProvisioned(env.get());
  if (!Current(*env) || (provisioned && int(provisioned_.size()) > provisioned_target_)) {
    if (provisioned) provisioned_.erase(env.get());
    env->Kill();
    return;
  }
  if (queue_.empty()) {
    (provisioned ? idle_provisioned_ : idle_).push_back(env);
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
  if (auto it = starting_.find(env.get()); it != starting_.end()) {
    if (!IsProvisioned(env.get())) cold_.Add(now - it->second);
  }
  StartEnded(env.get());
  if (IsProvisioned(env.get()) && provisioned_failures_ > 0 &&
      int(provisioned_.size()) >= provisioned_target_) {
    provisioned_failures_ = 0;
    provisioned_failure_.clear();
  }
  if (auto it = busy_.find(env.get()); it != busy_.end()) {
    warm_.Add(now - it->second);
    busy_.erase(it);
  }
  Dispatch(env);
}

void Pool::OnDead(const EnvironmentPtr& env, std::optional<Outcome> init_failure,
                  std::unique_ptr<Invocation> undelivered) {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  scheduler_.memory_.Release(env.get());
  if (!all_.erase(env)) return;
  --scheduler_.live_environments_;
  bool was_starting = starting_.contains(env.get());
  StartEnded(env.get());
  busy_.erase(env.get());
  std::erase(idle_, env);
  std::erase(idle_provisioned_, env);
  if (provisioned_.erase(env.get()) && provisioned_target_ > 0) {
    // A provisioned environment is replaced; one whose init failed, after a pause.
    if (init_failure || was_starting) {
      provisioned_failure_ = init_failure ? FailureReason(*init_failure) : "the environment ended during its init";
      spdlog::warn("function {}:{}: a provisioned environment failed to start: {}", function_, version_,
                   provisioned_failure_);
      ArmProvisionedRetry();
      init_failure.reset();  // nobody waited for it: no invocation gets its error
    }
  }
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
  if (!latest) {
    SetProvisioned(nullptr, 0);
    auto provisioned = std::move(idle_provisioned_);
    idle_provisioned_.clear();
    for (auto& env : provisioned) env->Kill();
  }
  auto queued = std::move(queue_);
  queue_.clear();
  for (auto& q : queued) {
    if (latest) {
      q.invocation->config = latest;
      queue_.push_back(std::move(q));
    } else {
      Outcome gone;
      gone.error = Error::NotFound(fmt::format("Function not found: {}:{}", function_, version_));
      q.invocation->done(std::move(gone));
    }
  }
}

void Pool::StopIdleSince(SteadyTime cutoff) {
  // Provisioned environments stay however long they idle.
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

const EnvironmentPtr* Pool::OldestIdle() const {
  const EnvironmentPtr* oldest = nullptr;
  for (const auto& env : idle_) {
    if (env->dead()) continue;
    if (!oldest || env->idle_since() < (*oldest)->idle_since()) oldest = &env;
  }
  return oldest;
}

void Pool::Evict(const EnvironmentPtr& env) {
  EnvironmentPtr keep = env;  // `env` may be an element of idle_
  std::erase(idle_, keep);
  scheduler_.memory_.Release(keep.get());
  keep->Kill();
}

void Pool::StopAll() {
  wait_timer_.cancel();
  provisioned_retry_.cancel();
  provisioned_target_ = 0;
  idle_.clear();
  idle_provisioned_.clear();
  auto all = all_;
  for (auto& env : all) env->Kill();
}

std::vector<EnvironmentStatus> Pool::Status() const {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  std::vector<EnvironmentStatus> list;
  for (const auto& env : all_) {
    if (!env->dead()) list.push_back(env->Status());
  }
  return list;
}

ScalingStatus Pool::Scaling() const {
  LAMBENT_DCHECK_THREAD(scheduler_.io_thread_);
  auto load = Load();
  ScalingStatus status;
  status.function = function_;
  status.version = version_;
  status.policy = DescribePolicy(load, scheduler_.options_.scaling);
  for (const auto& env : all_) {
    if (env->dead()) continue;
    status.memory_mb += scheduler_.memory_.charged(env.get());
    if (IsProvisioned(env.get())) ++status.provisioned;
  }
  status.busy = busy_.size();
  status.idle = idle_.size();
  status.starting = starting_.size();
  status.queued = queue_.size();
  status.throttles = throttles_;
  status.cold_starts = cold_starts_;
  if (load.warm) status.warm_ms = load.warm->count();
  if (load.cold) status.cold_ms = load.cold->count();
  return status;
}

}  // namespace lambent::scheduler
