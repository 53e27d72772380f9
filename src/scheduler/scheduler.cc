#include "scheduler/scheduler.h"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace lambent::scheduler {

void Pool::Submit(std::unique_ptr<Invocation> invocation) {
  if (scheduler_.stopping_) return;  // dropping it closes the caller's connection
  latest_revision_ = invocation->config->revision_id;
  while (!idle_.empty()) {
    auto env = std::move(idle_.back());
    idle_.pop_back();
    if (env->dead()) continue;
    if (!Current(*env)) {
      env->Kill();
      continue;
    }
    invocation = env->Assign(std::move(invocation));
    if (!invocation) return;
  }
  if (queue_.size() >= starting_.size() && !scheduler_.CanStartEnvironment()) {
    Outcome throttled;
    throttled.error = Error(ErrorCode::kTooManyRequests, "Rate Exceeded.");
    auto done = std::move(invocation->done);
    done(std::move(throttled));
    return;
  }
  queue_.push_back(std::move(invocation));
  ScaleUp();
}

void Pool::ScaleUp() {
  if (scheduler_.stopping_) return;
  while (starting_.size() < queue_.size() && scheduler_.CanStartEnvironment()) {
    const auto& config = queue_.back()->config;
    // A prestarted environment of the function's kind, or one started for it alone.
    auto env = scheduler_.prestarter_ ? scheduler_.prestarter_->Take(config, *this) : nullptr;
    if (!env) {
      env = std::make_shared<Environment>(scheduler_.context_, config, *this);
      if (auto started = env->Start(); !started) {
        spdlog::error("function {}: cannot start an environment: {}", name_, started.error().message());
        auto invocation = std::move(queue_.front());
        queue_.pop_front();
        Outcome failed;
        // Out of descriptors despite the budget (other files, another process's share):
        // throttled, as the budget would have done, so the client retries.
        int err = started.error().sys_errno();
        bool throttled = err == EMFILE || err == ENFILE;
        failed.error = Error(throttled ? ErrorCode::kTooManyRequests : ErrorCode::kInternal,
                             throttled ? "Rate Exceeded." : started.error().message());
        invocation->done(std::move(failed));
        continue;
      }
    }
    ++scheduler_.live_environments_;
    all_.insert(env);
    starting_.insert(env.get());
  }
}

void Pool::Dispatch(const std::shared_ptr<Environment>& env) {
  if (!Current(*env)) {
    env->Kill();
    return;
  }
  if (queue_.empty()) {
    idle_.push_back(env);
    return;
  }
  auto invocation = std::move(queue_.front());
  queue_.pop_front();
  if (auto back = env->Assign(std::move(invocation))) {
    queue_.push_front(std::move(back));
    ScaleUp();
  }
}

void Pool::OnAvailable(const std::shared_ptr<Environment>& env) {
  starting_.erase(env.get());
  Dispatch(env);
}

void Pool::OnDead(const std::shared_ptr<Environment>& env, std::optional<Outcome> init_failure,
                  std::unique_ptr<Invocation> undelivered) {
  if (!all_.erase(env)) return;
  --scheduler_.live_environments_;
  starting_.erase(env.get());
  std::erase(idle_, env);
  // It never reached the runtime: first in line for the next environment.
  if (undelivered) queue_.push_front(std::move(undelivered));
  if (init_failure && !queue_.empty()) {
    // The invocation that waited longest gets the failed start's error; the rest get
    // environments of their own.
    auto invocation = std::move(queue_.front());
    queue_.pop_front();
    env->RecordFailedStart(*invocation, *init_failure);
    invocation->done(std::move(*init_failure));
  }
  ScaleUp();
}

void Pool::Retire(const registry::ConfigPtr& latest) {
  latest_revision_ = latest ? latest->revision_id : "";
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& env : idle) env->Kill();
  auto queued = std::move(queue_);
  queue_.clear();
  for (auto& invocation : queued) {
    if (latest) {
      invocation->config = latest;
      queue_.push_back(std::move(invocation));
    } else {
      Outcome gone;
      gone.error = Error::NotFound("Function not found: " + name_);
      invocation->done(std::move(gone));
    }
  }
}

void Pool::StopIdleSince(SteadyTime cutoff) {
  std::vector<std::shared_ptr<Environment>> keep;
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
  idle_.clear();
  auto all = all_;
  for (auto& env : all) env->Kill();
}

Scheduler::Scheduler(EnvironmentContext& context, SchedulerOptions options)
    : context_(context), options_(options), sweep_timer_(context.io) {
  if (context.sandboxed && options.prestart.per_shape > 0) {
    prestarter_ = std::make_unique<Prestarter>(context, options.prestart);
  }
  Sweep();
}

void Scheduler::Invoke(std::unique_ptr<Invocation> invocation) {
  auto& pool = pools_[invocation->config->name];
  if (!pool) pool = std::make_unique<Pool>(*this, invocation->config->name);
  pool->Submit(std::move(invocation));
}

void Scheduler::Retire(const std::string& function, const registry::ConfigPtr& latest) {
  auto it = pools_.find(function);
  if (it != pools_.end()) it->second->Retire(latest);
}

void Scheduler::Shutdown() {
  stopping_ = true;
  sweep_timer_.cancel();
  if (prestarter_) prestarter_->Shutdown();
  for (auto& [_, pool] : pools_) pool->StopAll();
}

size_t Scheduler::environments() const { return size_t(live_environments_); }

bool Scheduler::CanStartEnvironment() {
  if (live_environments_ >= options_.max_environments) return false;
  uint64_t fds = uint64_t(live_environments_ + 1) * kFdsPerEnvironment;
  bool fits = fds <= options_.environment_fds;
  if (!fits && !fds_exhausted_) {
    spdlog::warn("{} environments hold the descriptors they may have ({}): throttling new ones",
                 live_environments_, options_.environment_fds);
  }
  fds_exhausted_ = !fits;
  return fits;
}

void Scheduler::Sweep() {
  auto cutoff = std::chrono::steady_clock::now() - options_.idle_timeout;
  for (auto& [_, pool] : pools_) pool->StopIdleSince(cutoff);
  if (prestarter_) prestarter_->Sweep(std::chrono::steady_clock::now());
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Sweep();
  });
}

std::vector<EnvironmentStatus> Pool::Status() const {
  std::vector<EnvironmentStatus> list;
  for (const auto& env : all_) {
    if (!env->dead()) list.push_back(env->Status());
  }
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return a.startup.begin < b.startup.begin; });
  return list;
}

std::vector<EnvironmentStatus> Scheduler::Environments(const std::string& function) const {
  auto it = pools_.find(function);
  return it == pools_.end() ? std::vector<EnvironmentStatus>{} : it->second->Status();
}

std::vector<EnvironmentStatus> Scheduler::Prestarted() const {
  return prestarter_ ? prestarter_->Status() : std::vector<EnvironmentStatus>{};
}

}  // namespace lambent::scheduler
