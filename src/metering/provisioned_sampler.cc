#include "metering/provisioned_sampler.h"

namespace lambent::metering {

ProvisionedSampler::ProvisionedSampler(boost::asio::io_context& io,
                                       const scheduler::Scheduler& scheduler,
                                       const registry::Registry& registry, Ledger& ledger,
                                       std::chrono::milliseconds interval)
    : timer_(io),
      scheduler_(scheduler),
      registry_(registry),
      ledger_(ledger),
      interval_(interval) {}

void ProvisionedSampler::Start() {
  running_ = true;
  last_ = std::chrono::steady_clock::now();
  Arm();
}

void ProvisionedSampler::Stop() {
  if (!running_) return;
  Sample();
  running_ = false;
  timer_.cancel();
}

void ProvisionedSampler::Arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    Sample();
    Arm();
  });
}

void ProvisionedSampler::Sample() {
  auto now = std::chrono::steady_clock::now();
  int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count();
  last_ = now;
  if (elapsed_ms <= 0) return;
  int64_t wall_ms = NowEpochMs();
  for (const auto& pool : scheduler_.Scaling()) {
    if (pool.provisioned == 0) continue;
    int ready = scheduler_.Provisioned(pool.function, pool.version).allocated;
    if (ready <= 0) continue;
    auto config = registry_.FindVersion(pool.function, pool.version);
    if (!config) continue;  // deleted since: its environments are going
    ledger_.RecordProvisioned(
        {wall_ms, pool.function, pool.version, config->memory_mb, ready, elapsed_ms});
  }
}

}  // namespace lambent::metering
