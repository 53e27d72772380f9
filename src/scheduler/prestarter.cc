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

Prestarter::Prestarter(EnvironmentContext& context, PrestartOptions options)
    : context_(context), options_(options), refill_timer_(context.io) {}

Prestarter::~Prestarter() { refill_timer_.cancel(); }

std::shared_ptr<Environment> Prestarter::Take(const registry::ConfigPtr& config, EnvironmentListener& listener) {
  if (stopping_ || options_.per_shape <= 0 || !context_.sandboxed) return nullptr;
  auto shape = PrestartShapeOf(*config);
  if (!shape) return nullptr;
  auto now = std::chrono::steady_clock::now();
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
  std::shared_ptr<Environment> adopted;
  while (!stock.ready.empty() && !adopted) {
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

void Prestarter::Refill(const PrestartShape& shape) {
  Stock& stock = stocks_.at(shape);
  if (stopping_ || std::chrono::steady_clock::now() < stock.retry_after) return;
  while (stock.ready.size() + stock.starting.size() < size_t(options_.per_shape)) {
    auto env = std::make_shared<Environment>(context_, stock.stand_in, *this, Environment::Kind::kPrestarted);
    if (auto started = env->Start(); !started) {
      spdlog::warn("cannot prestart a {} environment: {}", shape.family, started.error().message());
      Failed(stock);
      return;
    }
    stock.starting.insert(env);
    shape_of_[env.get()] = shape;
  }
}

void Prestarter::Failed(Stock& stock) {
  stock.failures = std::min(stock.failures + 1, 9);
  stock.retry_after = std::chrono::steady_clock::now() + std::chrono::milliseconds(100 << stock.failures);
}

void Prestarter::OnAvailable(const std::shared_ptr<Environment>& env) {
  auto it = shape_of_.find(env.get());
  if (it == shape_of_.end()) return env->Kill();
  Stock& stock = stocks_.at(it->second);
  stock.starting.erase(env);
  stock.ready.push_back(env);
  stock.failures = 0;
}

void Prestarter::OnDead(const std::shared_ptr<Environment>& env, std::optional<Outcome>,
                        std::unique_ptr<Invocation>) {
  auto it = shape_of_.find(env.get());
  if (it == shape_of_.end()) return;  // adopted or dropped already
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

void Prestarter::Sweep(SteadyTime now) {
  for (auto it = stocks_.begin(); it != stocks_.end();) {
    if (it->second.last_demand + options_.shape_ttl < now) {
      Drop(it->second);
      it = stocks_.erase(it);
    } else {
      Refill((it++)->first);
    }
  }
}

void Prestarter::Shutdown() {
  stopping_ = true;
  refill_timer_.cancel();
  for (auto& [_, stock] : stocks_) Drop(stock);
}

std::vector<EnvironmentStatus> Prestarter::Status() const {
  std::vector<EnvironmentStatus> list;
  for (const auto& [_, stock] : stocks_) {
    for (const auto& env : stock.ready) list.push_back(env->Status());
    for (const auto& env : stock.starting) list.push_back(env->Status());
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.startup.begin < b.startup.begin; });
  return list;
}

}  // namespace lambent::scheduler
