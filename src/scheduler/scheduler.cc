#include "scheduler/scheduler.h"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lambent::scheduler {

Scheduler::Scheduler(EnvironmentContext& context, SchedulerOptions options)
    : context_(context),
      options_(std::move(options)),
      factory_(options_.factory),
      clock_(options_.clock),
      sweep_timer_(context.io),
      memory_(options_.memory_budget_mb) {
  io_thread_.BindHere();
  if (!factory_) {
    factory_ = [&context](registry::ConfigPtr config, EnvironmentListener& listener, EnvironmentKind kind) {
      return std::make_shared<Environment>(context, std::move(config), listener, kind);
    };
  }
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (context.sandboxed && options_.prestart.per_shape > 0) {
    prestarter_ = std::make_unique<Prestarter>(context, options_.prestart, factory_, clock_);
    prestarter_->SetMemoryBudget(&memory_);
  }
  Sweep();
}

Pool& Scheduler::PoolFor(const std::string& function, const std::string& version) {
  auto by_function = pools_.find(function);
  if (by_function == pools_.end()) by_function = pools_.emplace(function, VersionPools{}).first;
  auto& pools = by_function->second;
  auto it = pools.find(version);
  if (it == pools.end()) it = pools.emplace(version, std::make_unique<Pool>(*this, function, version)).first;
  return *it->second;
}

std::optional<Error> Scheduler::Admit(const FunctionLoad& load) const {
  if (load.reserved) {
    if (load.running < *load.reserved) return std::nullopt;
    return Error::Throttled("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.");
  }
  if (running_unreserved_ < options_.concurrency_limit - reserved_total_) return std::nullopt;
  return Error::Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.");
}

void Scheduler::Invoke(std::unique_ptr<Invocation> invocation) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  const auto& config = *invocation->config;
  Pool& pool = PoolFor(config.name, config.version);
  if (draining_ || stopping_) {
    Outcome refused;
    refused.error = Error(ErrorCode::kUnavailable, "lambent is shutting down and takes no new invocations");
    return invocation->done(std::move(refused));
  }
  auto load_it = loads_.find(config.name);
  if (load_it == loads_.end()) load_it = loads_.emplace(config.name, std::make_shared<FunctionLoad>()).first;
  auto& load = load_it->second;
  // Refused before any environment is looked for or started, as Lambda does.
  if (auto throttled = Admit(*load)) {
    pool.CountThrottle();
    if (context_.observer) context_.observer->OnThrottle(config.name, config.version, throttled->reason());
    Outcome refused;
    refused.error = std::move(*throttled);
    return invocation->done(std::move(refused));
  }
  bool unreserved = !load->reserved;
  ++load->running;
  ++running_;
  if (unreserved) ++running_unreserved_;
  // The invocation holds its share of the concurrency until it is answered, wherever that
  // happens (an environment, a failed start, a retired version).
  invocation->done = [this, load, unreserved, done = std::move(invocation->done)](Outcome outcome) {
    --load->running;
    --running_;
    if (unreserved) --running_unreserved_;
    done(std::move(outcome));
    if (draining_ && running_ == 0) CheckDrained();
  };
  pool.Submit(std::move(invocation));
}

void Scheduler::Retire(const std::string& function, const std::string& version,
                       const registry::ConfigPtr& latest) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto by_function = pools_.find(function);
  if (by_function == pools_.end()) return;
  auto it = by_function->second.find(version);
  if (it != by_function->second.end()) it->second->Retire(latest);
}

void Scheduler::RetireFunction(const std::string& function) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  SetReservedConcurrency(function, std::nullopt);
  auto by_function = pools_.find(function);
  if (by_function == pools_.end()) return;
  for (auto& [_, pool] : by_function->second) pool->Retire(nullptr);
}

void Scheduler::SetReservedConcurrency(const std::string& function, std::optional<int> reserved) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto it = loads_.find(function);
  if (it == loads_.end()) {
    if (!reserved) return;
    it = loads_.emplace(function, std::make_shared<FunctionLoad>()).first;
  }
  auto& load = *it->second;
  if (load.reserved) reserved_total_ -= *load.reserved;
  load.reserved = reserved;
  if (load.reserved) reserved_total_ += *load.reserved;
}

void Scheduler::SetProvisioned(const std::string& function, std::map<std::string, ProvisionedTarget> by_version) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (stopping_) return;
  if (auto existing = pools_.find(function); existing != pools_.end()) {
    for (auto& [version, pool] : existing->second) {
      if (!by_version.contains(version) && pool->has_provisioned()) pool->SetProvisioned(nullptr, 0);
    }
  }
  for (auto& [version, target] : by_version) {
    if (!target.config) continue;
    PoolFor(function, version).SetProvisioned(std::move(target.config), target.count);
  }
}

ProvisionedStatus Scheduler::Provisioned(const std::string& function, const std::string& version) const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto by_function = pools_.find(function);
  if (by_function == pools_.end()) return {};
  auto it = by_function->second.find(version);
  return it == by_function->second.end() ? ProvisionedStatus{} : it->second->Provisioned();
}

bool Scheduler::MakeRoom(int64_t mb, const Pool* for_pool) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  while (!memory_.Fits(mb)) {
    // Prestarted environments are the cheapest to lose: any function's next cold start
    // makes them again.
    if (prestarter_ && prestarter_->EvictOne()) {
      ++evictions_;
      continue;
    }
    Pool* victim_pool = nullptr;
    const EnvironmentPtr* victim = nullptr;
    for (auto& [_, pools] : pools_) {
      for (auto& [_, pool] : pools) {
        if (pool.get() == for_pool) continue;
        const EnvironmentPtr* oldest = pool->OldestIdle();
        if (oldest && (!victim || (*oldest)->idle_since() < (*victim)->idle_since())) {
          victim = oldest;
          victim_pool = pool.get();
        }
      }
    }
    if (!victim) return false;
    spdlog::info("memory budget: stopping an idle environment of {}:{} to make room", victim_pool->function(),
                 victim_pool->version());
    victim_pool->Evict(*victim);
    ++evictions_;
  }
  return true;
}

void Scheduler::Drain(std::function<void()> drained) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  draining_ = true;
  drained_ = std::move(drained);
  if (running_ == 0) CheckDrained();
}

void Scheduler::CheckDrained() {
  if (!drained_) return;
  // Posted: the last invocation's answer is still being written when it ends.
  boost::asio::post(context_.io, [this] {
    if (running_ != 0 || !drained_) return;
    auto drained = std::move(drained_);
    drained_ = nullptr;
    drained();
  });
}

void Scheduler::Shutdown() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  stopping_ = true;
  sweep_timer_.cancel();
  if (prestarter_) prestarter_->Shutdown();
  for (auto& [_, pools] : pools_) {
    for (auto& [_, pool] : pools) pool->StopAll();
  }
}

void Scheduler::Reconsider() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  for (auto& [_, pools] : pools_) {
    for (auto& [_, pool] : pools) pool->ScaleUp();
  }
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
  for (auto& [_, pools] : pools_) {
    for (auto& [_, pool] : pools) pool->StopIdleSince(now - options_.idle_timeout);
  }
  if (prestarter_) prestarter_->Sweep(now);
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Sweep();
  });
}

std::vector<EnvironmentStatus> Scheduler::Environments(const std::string& function) const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  std::vector<EnvironmentStatus> list;
  auto by_function = pools_.find(function);
  if (by_function == pools_.end()) return list;
  for (const auto& [_, pool] : by_function->second) {
    auto status = pool->Status();
    list.insert(list.end(), std::make_move_iterator(status.begin()), std::make_move_iterator(status.end()));
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.startup.begin < b.startup.begin; });
  return list;
}

std::vector<EnvironmentStatus> Scheduler::Prestarted() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  return prestarter_ ? prestarter_->Status() : std::vector<EnvironmentStatus>{};
}

std::vector<ScalingStatus> Scheduler::Scaling() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  std::vector<ScalingStatus> all;
  for (const auto& [_, pools] : pools_) {
    for (const auto& [_, pool] : pools) {
      auto status = pool->Scaling();
      if (status.busy + status.idle + status.starting + status.queued + status.provisioned > 0 ||
          pool->has_provisioned() || status.throttles > 0) {
        all.push_back(std::move(status));
      }
    }
  }
  return all;
}

HostStatus Scheduler::Host() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  HostStatus host;
  host.memory_budget_mb = memory_.budget_mb();
  host.memory_in_use_mb = memory_.in_use_mb();
  host.concurrency_limit = options_.concurrency_limit;
  host.unreserved_floor = options_.unreserved_floor;
  host.running = running_;
  for (const auto& [name, load] : loads_) {
    if (load->reserved) host.reserved[name] = *load->reserved;
  }
  host.prestarted = prestarter_ ? prestarter_->ready() : 0;
  host.evictions = evictions_;
  return host;
}

}  // namespace lambent::scheduler
