#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <deque>

#include <boost/asio/steady_timer.hpp>

#include "base/thread_check.h"

#include "scheduler/environment.h"
#include "scheduler/execution_environment.h"
#include "scheduler/memory_budget.h"

namespace lambent::scheduler {

struct PrestartOptions {
  int per_shape = 1;  // ready environments kept for each shape in demand; 0: none
  // A shape whose cold starts came in bursts keeps as many ready as it took within the
  // last `demand_window`, up to this many.
  int max_per_shape = 4;
  std::chrono::seconds demand_window{30};
  int max_starting_per_shape = 2;  // refills in parallel: the cold starts get the cores first
  size_t max_shapes = 8;
  std::chrono::seconds shape_ttl{600};  // a shape no cold start asked for this long is dropped
};

// What a prestarted environment must match to serve a function: its interpreter, and for
// node the memory size (V8 sizes its heap from the cgroup's limit as it starts).
struct PrestartShape {
  std::string family;  // "python" or "node"
  int memory_mb = 0;   // 0: any
  auto operator<=>(const PrestartShape&) const = default;
};

// The shape of the prestarted environment `config` can adopt, or nullopt when it needs a
// runtime started for it alone: not lambent's own python or node runtime, its own network
// (host), or environment variables the interpreter reads as it starts (NODE_OPTIONS,
// PYTHONPATH, LANG, ...), which a running interpreter would not honour.
std::optional<PrestartShape> PrestartShapeOf(const registry::FunctionConfig& config);

// Keeps sandboxed environments of lambent's interpreted runtimes started ahead of demand,
// their runtime up and waiting for a function, so a cold start of a function of that kind
// costs its assignment and handler import instead of a sandbox and an interpreter start.
// Each prestarted environment serves one function for its whole life, like any other.
// Shapes are learned from cold starts and forgotten when unused; how many of each are kept
// ready follows the shape's recent cold starts. io thread only.
class Prestarter : public EnvironmentListener {
 public:
  Prestarter(EnvironmentContext& context, PrestartOptions options, EnvironmentFactory factory, ClockFn clock);
  ~Prestarter() override;

  // A prestarted environment adopted by `config`, reporting to `listener` from now on; null
  // when none of its shape is ready. Either way the shape is remembered as in demand and
  // its stock refilled.
  EnvironmentPtr Take(const registry::ConfigPtr& config, EnvironmentListener& listener);
  // Drops shapes unused for the ttl, stops what demand no longer asks for, retries failed
  // starts.
  void Sweep(SteadyTime now);
  void Shutdown();
  std::vector<EnvironmentStatus> Status() const;
  // Prestarted environments are charged kPrestartedChargeMb each, and none is started that
  // does not fit. Null (the default): no budget.
  void SetMemoryBudget(MemoryBudget* memory) { memory_ = memory; }
  // Stops the ready environment that waited longest, to make room in the memory budget;
  // false when none is ready.
  bool EvictOne();
  size_t ready() const;

  void OnAvailable(const EnvironmentPtr& env) override;
  void OnDead(const EnvironmentPtr& env, std::optional<Outcome> init_failure,
              std::unique_ptr<Invocation> undelivered) override;

 private:
  struct Stock {
    registry::ConfigPtr stand_in;  // runtime and memory for the environments' start
    SteadyTime last_demand;
    std::deque<SteadyTime> takes;  // cold starts within the demand window
    std::vector<EnvironmentPtr> ready;  // oldest first
    std::set<EnvironmentPtr> starting;
    int failures = 0;  // in a row; backs refills off
    SteadyTime retry_after;
  };

  void ScheduleRefill();
  void Refill(const PrestartShape& shape);
  void Failed(Stock& stock);
  void Drop(Stock& stock);
  size_t Target(Stock& stock, SteadyTime now) const;

  EnvironmentContext& context_;
  ThreadAffinity io_thread_;
  PrestartOptions options_;
  EnvironmentFactory factory_;
  ClockFn clock_;
  std::map<PrestartShape, Stock> stocks_;
  std::map<const ExecutionEnvironment*, PrestartShape> shape_of_;
  boost::asio::steady_timer refill_timer_;
  bool refill_pending_ = false;
  bool stopping_ = false;
  MemoryBudget* memory_ = nullptr;
};

}  // namespace lambent::scheduler
