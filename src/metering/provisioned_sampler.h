#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "base/clock.h"
#include "metering/ledger.h"
#include "registry/registry.h"
#include "scheduler/scheduler.h"

namespace lambent::metering {

// Puts provisioned-concurrency time into the ledger: every `interval`, each version's
// provisioned environments that are ready (initialised and alive) times its memory times the
// time since the previous sample. Lambda bills the concurrency configured, from enabling to
// disabling, in 5-minute steps; lambent bills the environments actually kept ready, to the
// sampling interval. io thread only; `scheduler`, `registry` and `ledger` outlive it.
class ProvisionedSampler {
 public:
  ProvisionedSampler(boost::asio::io_context& io, const scheduler::Scheduler& scheduler,
                     const registry::Registry& registry, Ledger& ledger,
                     std::chrono::milliseconds interval = std::chrono::seconds(10));
  void Start();
  // Samples the time since the previous sample, then stops (the daemon is stopping).
  void Stop();

 private:
  void Arm();
  void Sample();

  boost::asio::steady_timer timer_;
  const scheduler::Scheduler& scheduler_;
  const registry::Registry& registry_;
  Ledger& ledger_;
  std::chrono::milliseconds interval_;
  SteadyTime last_{};
  bool running_ = false;
};

}  // namespace lambent::metering
