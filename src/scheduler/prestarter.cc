#include "scheduler/prestarter.h"

#include <algorithm>
#include <string_view>

#include <spdlog/spdlog.h>

namespace lambent::scheduler {
namespace {

// Variables an interpreter (or the C library under it) reads as it starts: a runtime that is
// already running would ignore the function's values.
bool ReadAtStart(std::string_view key) {
  constexpr std::string_view kPrefixes[] = {"PYTHON", "NODE_", "UV_", "LC_", "LD_", "MALLOC_", "OPENSSL_"};
  constexpr std::string_view kNames[] = {"LANG", "LANGUAGE", "TZ", "HOME", "GLIBC_TUNABLES",
                                         "AWS_LAMBDA_EXEC_WRAPPER"};
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes), [&](auto p) { return key.starts_with(p); }) ||
         std::find(std::begin(kNames), std::end(kNames), key) != std::end(kNames);
}

constexpr std::chrono::milliseconds kRefillDelay{20};

}  // namespace

std::optional<PrestartShape> PrestartShapeOf(const registry::FunctionConfig& config) {
  if (config.network == "host") return std::nullopt;
  PrestartShape shape;
  if (config.runtime.starts_with("python")) {
    shape.family = "python";
  } else if (config.runtime.starts_with("nodejs")) {
    shape.family = "node";
    shape.memory_mb = config.memory_mb;
  } else {
    return std::nullopt;
  }
  for (const auto& [key, _] : config.environment) {
    if (ReadAtStart(key)) return std::nullopt;
  }
  return shape;
}

Prestarter::Prestarter(EnvironmentContext& context, PrestartOptions options, EnvironmentFactory factory,
                       ClockFn clock)
    : context_(context),
      options_(options),
      factory_(std::move(factory)),
      clock_(std::move(clock)),
      refill_timer_(context.io) {
  io_thread_.BindHere();
}

Prestarter::~Prestarter() { refill_timer_.cancel(); }

EnvironmentPtr Prestarter::Take(const registry::ConfigPtr& config, EnvironmentListener& listener) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (stopping_ || options_.per_shape <= 0 || !context_.sandboxed) return nullptr;
  auto shape = PrestartShapeOf(*config);
  if (!shape) return nullptr;
  auto now = clock_();
  auto it = stocks_.find(*shape);
  if (it == stocks_.end()) {
    if (stocks_.size() >= options_.max_shapes) {
      auto oldest = std::min_element(stocks_.begin(), stocks_.end(), [](const auto& a, const auto& b) {
        return a.second.last_demand < b.second.last_demand;
      });
      Drop(oldest->second);
      stocks_.erase(oldest);
    }
    auto stand_in = std::make_shared<registry::FunctionConfig>();
    stand_in->runtime = config->runtime;
    // Python's start does not depend on the memory size; give it a full vCPU's worth.
    stand_in->memory_mb = shape->memory_mb ? shape->memory_mb : 1769;
    it = stocks_.emplace(*shape, Stock{std::move(stand_in)}).first;
  }
  Stock& stock = it->second;
  stock.last_demand = now;
  stock.takes.push_back(now);
  EnvironmentPtr adopted;
  while (!stock.ready.empty() && !adopted) {
    // The newest: the oldest go first when demand shrinks.
    auto env = std::move(stock.ready.back());
    stock.ready.pop_back();
    shape_of_.erase(env.get());
    if (env->dead()) continue;
    if (auto ok = env->Adopt(config, listener); !ok) {
      spdlog::warn("function {}: a prestarted environment could not be assigned: {}", config->name,
                   ok.error().message());
      env->Kill();
      continue;
    }
    adopted = std::move(env);
  }
  ScheduleRefill();
  return adopted;
}

void Prestarter::ScheduleRefill() {
  if (refill_pending_ || stopping_) return;
  refill_pending_ = true;
  // Not at once: the cold start that just took an environment gets the CPU first.
  refill_timer_.expires_after(kRefillDelay);
  refill_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    refill_pending_ = false;
    for (auto& [shape, _] : stocks_) Refill(shape);
  });
}

size_t Prestarter::Target(Stock& stock, SteadyTime now) const {
  while (!stock.takes.empty() && stock.takes.front() + options_.demand_window < now) stock.takes.pop_front();
  size_t floor = size_t(std::max(options_.per_shape, 0));
  return std::max(floor, std::min(stock.takes.size(), size_t(std::max(options_.max_per_shape, options_.per_shape))));
}

void Prestarter::Refill(const PrestartShape& shape) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  Stock& stock = stocks_.at(shape);
  auto now = clock_();
  if (stopping_ || now < stock.retry_after) return;
  size_t target = Target(stock, now);
  while (stock.ready.size() + stock.starting.size() < target &&
         stock.starting.size() < size_t(std::max(options_.max_starting_per_shape, 1))) {
    if (memory_ && !memory_->Fits(kPrestartedChargeMb)) return;  // room goes to functions
    auto env = factory_(stock.stand_in, *this, EnvironmentKind::kPrestarted);
    if (auto started = env->Start(); !started) {
      spdlog::warn("cannot prestart a {} environment: {}", shape.family, started.error().message());
      Failed(stock);
      return;
    }
    stock.starting.insert(env);
    shape_of_[env.get()] = shape;
    if (memory_) memory_->Charge(env.get(), kPrestartedChargeMb);
  }
}

void Prestarter::Failed(Stock& stock) {
  stock.failures = std::min(stock.failures + 1, 9);
  stock.retry_after = clock_() + std::chrono::milliseconds(100 << stock.failures);
}

void Prestarter::OnAvailable(const EnvironmentPtr& env) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  auto it = shape_of_.find(env.get());
  if (it == shape_of_.end()) return env->Kill();
  Stock& stock = stocks_.at(it->second);
  stock.starting.erase(env);
  stock.ready.push_back(env);
  stock.failures = 0;
  // A burst's refill goes on as each start ends, a few at a time.
  ScheduleRefill();
}

void Prestarter::OnDead(const EnvironmentPtr& env, std::optional<Outcome>,
                        std::unique_ptr<Invocation>) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (memory_) memory_->Release(env.get());
  auto it = shape_of_.find(env.get());
  if (it == shape_of_.end()) return;  // dropped already (an adopted one reports to its pool)
  Stock& stock = stocks_.at(it->second);
  shape_of_.erase(it);
  if (stock.starting.erase(env)) Failed(stock);  // died before its runtime was up
  std::erase(stock.ready, env);
  ScheduleRefill();
}

void Prestarter::Drop(Stock& stock) {
  auto ready = std::move(stock.ready);
  auto starting = std::move(stock.starting);
  stock.ready.clear();
  stock.starting.clear();
  for (auto& env : ready) {
    shape_of_.erase(env.get());
    env->Kill();
  }
  for (auto& env : starting) {
    shape_of_.erase(env.get());
    env->Kill();
  }
}

bool Prestarter::EvictOne() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  Stock* oldest = nullptr;
  for (auto& [_, stock] : stocks_) {
    if (stock.ready.empty()) continue;
    if (!oldest || stock.ready.front()->idle_since() < oldest->ready.front()->idle_since()) oldest = &stock;
  }
  if (!oldest) return false;
  auto env = std::move(oldest->ready.front());
  oldest->ready.erase(oldest->ready.begin());
  shape_of_.erase(env.get());
  if (memory_) memory_->Release(env.get());
  env->Kill();
  return true;
}

size_t Prestarter::ready() const {
  size_t count = 0;
  for (const auto& [_, stock] : stocks_) count += stock.ready.size();
  return count;
}

void Prestarter::Sweep(SteadyTime now) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  for (auto it = stocks_.begin(); it != stocks_.end();) {
    Stock& stock = it->second;
    if (stock.last_demand + options_.shape_ttl < now) {
      Drop(stock);
      it = stocks_.erase(it);
      continue;
    }
    // Demand fell: the ready environments past it go, oldest first.
    size_t target = Target(stock, now);
    while (stock.ready.size() > target) {
      auto env = std::move(stock.ready.front());
      stock.ready.erase(stock.ready.begin());
      shape_of_.erase(env.get());
      env->Kill();
    }
    Refill((it++)->first);
  }
}

void Prestarter::Shutdown() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  stopping_ = true;
  refill_timer_.cancel();
  for (auto& [_, stock] : stocks_) Drop(stock);
}

std::vector<EnvironmentStatus> Prestarter::Status() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  std::vector<EnvironmentStatus> list;
  for (const auto& [_, stock] : stocks_) {
    for (const auto& env : stock.ready) list.push_back(env->Status());
    for (const auto& env : stock.starting) list.push_back(env->Status());
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.startup.begin < b.startup.begin; });
  return list;
}

}  // namespace lambent::scheduler
