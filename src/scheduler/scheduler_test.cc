#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "runtimes/catalog.h"
#include "telemetry/log_store.h"

namespace lambent::scheduler {
namespace {

using namespace std::chrono_literals;

// An environment whose life the test drives: Ready() is its runtime's first /next,
// Finish() the end of its invocation.
class FakeEnvironment : public ExecutionEnvironment, public std::enable_shared_from_this<FakeEnvironment> {
 public:
  FakeEnvironment(registry::ConfigPtr config, EnvironmentListener& listener, EnvironmentKind kind,
                  boost::asio::io_context& io)
      : config_(std::move(config)), listener_(&listener), kind_(kind), io_(io) {}

  Result<void> Start() override {
    if (start_errno) return tl::unexpected(Error::System("clone", "environment", start_errno));
    started = true;
    return Ok();
  }
  Result<void> Adopt(registry::ConfigPtr config, EnvironmentListener& listener) override {
    config_ = std::move(config);
    listener_ = &listener;
    adopted = true;
    return Ok();
  }
  std::unique_ptr<Invocation> Assign(std::unique_ptr<Invocation> invocation) override {
    active = std::move(invocation);
    return nullptr;
  }
  void Kill() override {
    if (dead_) return;
    dead_ = true;
    auto self = shared_from_this();
    boost::asio::post(io_, [self] { self->listener_->OnDead(self, std::nullopt, nullptr); });
  }
  void RecordFailedStart(const Invocation&, Outcome&) const override { ++recorded_failures; }
  const registry::FunctionConfig& config() const override { return *config_; }
  EnvironmentStatus Status() const override { return {}; }
  bool dead() const override { return dead_; }
  SteadyTime idle_since() const override { return {}; }

  void Ready() { listener_->OnAvailable(shared_from_this()); }
  void Finish(std::string body = "ok") {
    auto invocation = std::move(active);
    invocation->done(Outcome{std::move(body)});
    listener_->OnAvailable(shared_from_this());
  }
  void FailStart(Outcome failure) {
    dead_ = true;
    listener_->OnDead(shared_from_this(), std::move(failure), nullptr);
  }

  bool started = false;
  bool adopted = false;
  int start_errno = 0;
  mutable int recorded_failures = 0;
  std::unique_ptr<Invocation> active;
  EnvironmentKind kind() const { return kind_; }

 private:
  registry::ConfigPtr config_;
  EnvironmentListener* listener_;
  EnvironmentKind kind_;
  boost::asio::io_context& io_;
  bool dead_ = false;
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : dir_(std::filesystem::temp_directory_path() / ("lambent-scheduler-test-" + std::to_string(::getpid()))),
        logs_((std::filesystem::create_directories(dir_), dir_ / "logs")),
        catalog_(runtimes::Catalog::Discover(dir_ / "runtimes")),
        context_{io_, logs_, catalog_} {}
  ~SchedulerTest() override { std::filesystem::remove_all(dir_); }

  // A scheduler with fake environments and a hand-moved clock; `configure` adjusts options.
  void Make(std::function<void(SchedulerOptions&)> configure = {}) {
    SchedulerOptions options;
    options.prestart.per_shape = 0;
    options.max_parallel_starts = 0;
    options.scaling.cores = 2;
    options.clock = [this] { return now_; };
    options.factory = [this](registry::ConfigPtr config, EnvironmentListener& listener, EnvironmentKind kind) {
      auto env = std::make_shared<FakeEnvironment>(std::move(config), listener, kind, io_);
      if (fail_next_start_) env->start_errno = std::exchange(fail_next_start_, 0);
      made_.push_back(env);
      return env;
    };
    if (configure) configure(options);
    scheduler_ = std::make_unique<Scheduler>(context_, options);
  }

  registry::ConfigPtr Config(std::string runtime = "provided.al2023", std::string revision = "r1",
                             std::string version = "$LATEST", std::string name = "fn", int memory_mb = 128) {
    auto config = std::make_shared<registry::FunctionConfig>();
    config->name = std::move(name);
    config->version = std::move(version);
    config->memory_mb = memory_mb;
    config->runtime = std::move(runtime);
    config->revision_id = std::move(revision);
    return config;
  }

  void Invoke(registry::ConfigPtr config = nullptr) {
    auto invocation = std::make_unique<Invocation>();
    invocation->request_id = "req-" + std::to_string(submitted_++);
    invocation->config = config ? config : Config();
    invocation->done = [this](Outcome outcome) { outcomes_.push_back(std::move(outcome)); };
    scheduler_->Invoke(std::move(invocation));
  }

  ScalingStatus Scaling(const std::string& function = "fn", const std::string& version = "$LATEST") const {
    for (auto& status : scheduler_->Scaling()) {
      if (status.function == function && status.version == version) return status;
    }
    ADD_FAILURE() << "no pool for " << function << ":" << version;
    return {};
  }

  std::vector<std::shared_ptr<FakeEnvironment>> Made(EnvironmentKind kind) const {
    std::vector<std::shared_ptr<FakeEnvironment>> out;
    for (const auto& env : made_) {
      if (env->kind() == kind && env->started && !env->dead()) out.push_back(env);
    }
    return out;
  }

  size_t Started() const {
    return size_t(std::count_if(made_.begin(), made_.end(), [](const auto& e) { return e->started; }));
  }

  // `count` environments measured: a cold start of `cold`, then `warm` invocations; all idle.
  void Warmed(int count, std::chrono::milliseconds cold, std::chrono::microseconds warm) {
    for (int i = 0; i < count; ++i) Invoke();
    now_ += cold;
    for (auto& env : made_) env->Ready();
    for (int round = 0; round < 5; ++round) {
      now_ += warm;
      for (auto& env : made_) env->Finish();
      if (round < 4) {
        for (int i = 0; i < count; ++i) Invoke();
      }
    }
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
  telemetry::LogStore logs_;
  runtimes::Catalog catalog_;
  EnvironmentContext context_;
  SteadyTime now_ = SteadyTime(1000s);
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::shared_ptr<FakeEnvironment>> made_;
  std::vector<Outcome> outcomes_;
  int submitted_ = 0;
  int fail_next_start_ = 0;
};

TEST_F(SchedulerTest, EveryInvocationGetsAnEnvironmentWhenNothingIsMeasured) {
  Make();
  for (int i = 0; i < 3; ++i) Invoke();
  EXPECT_EQ(Started(), 3u);
  EXPECT_EQ(Scaling().policy, "scale out (no warm and cold durations measured yet)");
}

TEST_F(SchedulerTest, AnIdleEnvironmentIsReused) {
  Make();
  Invoke();
  made_[0]->Ready();
  made_[0]->Finish();
  Invoke();
  EXPECT_EQ(Started(), 1u);
  ASSERT_TRUE(made_[0]->active);
  EXPECT_EQ(made_[0]->active->request_id, "req-1");
}

TEST_F(SchedulerTest, ParallelStartsAreCappedAndResumeAsStartsEnd) {
  Make([](SchedulerOptions& o) { o.max_parallel_starts = 2; });
  for (int i = 0; i < 5; ++i) Invoke();
  EXPECT_EQ(Started(), 2u);
  made_[0]->Ready();  // takes req-0 and frees a start slot
  io_.poll();
  EXPECT_EQ(Started(), 3u);
  made_[1]->Ready();
  made_[2]->Ready();
  io_.poll();
  EXPECT_EQ(Started(), 5u);
}

TEST_F(SchedulerTest, ShortInvocationsWaitForABusyEnvironmentPastTheFloor) {
  Make();
  // Two environments (the floor at 2 cores) measured: 20 ms cold, 1 ms warm.
  Warmed(2, 20ms, 1ms);
  ASSERT_EQ(Started(), 2u);
  auto a = made_[0];
  Invoke();
  Invoke();  // both busy now
  for (int i = 0; i < 3; ++i) Invoke();
  EXPECT_EQ(Started(), 2u) << "a busy environment frees in ~1 ms, a new one takes 20";
  auto scaling = Scaling();
  EXPECT_EQ(scaling.queued, 3u);
  EXPECT_NE(scaling.policy.find("wait up to 10.0 ms"), std::string::npos) << scaling.policy;
  // A busy one frees: the oldest waiting invocation runs there.
  now_ += 1ms;
  a->Finish();
  ASSERT_TRUE(a->active);
  EXPECT_EQ(Scaling().queued, 2u);
}

TEST_F(SchedulerTest, AnInvocationWaitingPastItsBudgetGetsItsOwnEnvironment) {
  Make();
  Warmed(2, 20ms, 1ms);
  Invoke();
  Invoke();
  Invoke();
  EXPECT_EQ(Started(), 2u);
  now_ += 9ms;
  scheduler_->Reconsider();
  EXPECT_EQ(Started(), 2u);
  now_ += 2ms;  // past half a cold start: the handler has turned slow
  scheduler_->Reconsider();
  EXPECT_EQ(Started(), 3u);
}

TEST_F(SchedulerTest, SlowHandlersScaleOutAsOnLambda) {
  Make();
  Warmed(2, 20ms, 100ms);
  Invoke();
  Invoke();
  for (int i = 0; i < 4; ++i) Invoke();
  EXPECT_EQ(Started(), 6u);
  EXPECT_NE(Scaling().policy.find("scale out (warm 100.00 ms"), std::string::npos);
}

TEST_F(SchedulerTest, BelowTheFloorEnvironmentsStartEvenForShortInvocations) {
  Make([](SchedulerOptions& o) { o.scaling.min_busy = 4; });
  Warmed(1, 20ms, 1ms);
  Invoke();  // busy
  Invoke();
  Invoke();
  Invoke();
  Invoke();
  EXPECT_EQ(Started(), 4u) << "the floor is 4 busy environments";
}

TEST_F(SchedulerTest, OverTheConcurrencyLimitAnInvocationIsThrottled) {
  Make([](SchedulerOptions& o) { o.max_environments = 1; });
  Invoke();
  made_[0]->Ready();
  Invoke();
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_TRUE(outcomes_[0].error);
  EXPECT_EQ(outcomes_[0].error->code(), ErrorCode::kTooManyRequests);
}

TEST_F(SchedulerTest, InvocationsWaitingForAStartSlotCountAgainstTheLimit) {
  Make([](SchedulerOptions& o) {
    o.max_environments = 3;
    o.max_parallel_starts = 1;
  });
  for (int i = 0; i < 5; ++i) Invoke();
  EXPECT_EQ(Started(), 1u);
  ASSERT_EQ(outcomes_.size(), 2u) << "3 environments promised, 2 throttled at once";
  EXPECT_EQ(outcomes_[0].error->code(), ErrorCode::kTooManyRequests);
}

TEST_F(SchedulerTest, OutOfDescriptorsAtStartIsAThrottle) {
  Make();
  fail_next_start_ = EMFILE;
  Invoke();
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_TRUE(outcomes_[0].error);
  EXPECT_EQ(outcomes_[0].error->code(), ErrorCode::kTooManyRequests);
  EXPECT_EQ(scheduler_->environments(), 0u);
}

TEST_F(SchedulerTest, AFailedInitIsTheWaitingInvocationsButAPlatformFailureLeavesNoRecord) {
  Make();
  Invoke();
  Invoke();
  Outcome init_error{R"({"errorType":"Runtime.ExitError"})", true};
  made_[0]->FailStart(init_error);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_TRUE(outcomes_[0].function_error);
  EXPECT_EQ(made_[0]->recorded_failures, 1);
  Outcome platform;
  platform.error = Error(ErrorCode::kTooManyRequests, "Rate Exceeded.");
  made_[1]->FailStart(platform);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_EQ(made_[1]->recorded_failures, 0);
  EXPECT_EQ(scheduler_->environments(), 0u);
}

TEST_F(SchedulerTest, AnUpdatedFunctionRetiresIdleEnvironments) {
  Make();
  Invoke();
  made_[0]->Ready();
  made_[0]->Finish();
  scheduler_->Retire("fn", "$LATEST", Config("provided.al2023", "r2"));
  io_.poll();
  EXPECT_TRUE(made_[0]->dead());
  Invoke(Config("provided.al2023", "r2"));
  EXPECT_EQ(Started(), 2u);
}

TEST_F(SchedulerTest, PrestartedStockFollowsDemandAndShrinksAfterIt) {
  context_.sandboxed = true;
  Make([](SchedulerOptions& o) {
    o.prestart.per_shape = 1;
    o.prestart.max_per_shape = 3;
    o.prestart.max_starting_per_shape = 3;
    o.prestart.demand_window = 10s;
  });
  auto python = Config("python3.12");
  for (int i = 0; i < 5; ++i) Invoke(python);
  EXPECT_EQ(Started(), 5u) << "nothing prestarted yet: on demand";
  io_.run_for(100ms);  // the refill timer
  auto prestarted = [&] {
    return size_t(std::count_if(made_.begin(), made_.end(), [](const auto& e) {
      return e->kind() == EnvironmentKind::kPrestarted && !e->dead() && !e->adopted;
    }));
  };
  EXPECT_EQ(prestarted(), 3u) << "5 cold starts within the window: the most kept, 3";
  for (auto& env : made_) {
    if (env->kind() == EnvironmentKind::kPrestarted) env->Ready();
  }
  now_ += 11s;
  scheduler_->Reconsider();
  // The sweep runs each second on the real clock; drive it through the prestarter's view.
  io_.run_for(1100ms);
  io_.poll();
  EXPECT_EQ(prestarted(), 1u) << "the window passed: back to one";
}

TEST_F(SchedulerTest, VersionsRunInEnvironmentsOfTheirOwn) {
  Make();
  auto v1 = Config("provided.al2023", "v1-rev", "1");
  Invoke(v1);
  made_[0]->Ready();
  made_[0]->Finish();
  // $LATEST changes and runs: version 1's warm environment is not touched.
  Invoke(Config("provided.al2023", "r2"));
  scheduler_->Retire("fn", "$LATEST", Config("provided.al2023", "r3"));
  io_.poll();
  EXPECT_EQ(Started(), 2u);
  EXPECT_FALSE(made_[0]->dead());
  Invoke(v1);
  ASSERT_TRUE(made_[0]->active);
  EXPECT_EQ(Started(), 2u);
  EXPECT_EQ(Scaling("fn", "1").busy, 1u);
}

TEST_F(SchedulerTest, ReservedConcurrencyThrottlesPastItWithLambdasReason) {
  Make();
  scheduler_->SetReservedConcurrency("fn", 2);
  for (int i = 0; i < 5; ++i) Invoke();
  EXPECT_EQ(Started(), 2u) << "no environment is started for a throttled call";
  ASSERT_EQ(outcomes_.size(), 3u);
  for (const auto& outcome : outcomes_) {
    ASSERT_TRUE(outcome.error);
    EXPECT_EQ(outcome.error->code(), ErrorCode::kTooManyRequests);
    EXPECT_EQ(outcome.error->reason(), "ReservedFunctionConcurrentInvocationLimitExceeded");
  }
  EXPECT_EQ(Scaling().throttles, 3u);
  made_[0]->Ready();
  made_[0]->Finish();  // one answered: its share is free again
  Invoke();
  EXPECT_EQ(outcomes_.size(), 4u) << "the fourth outcome is req-0's answer";
  EXPECT_FALSE(outcomes_.back().error);
  EXPECT_TRUE(made_[0]->active);
}

TEST_F(SchedulerTest, AReservationOfZeroThrottlesEveryCall) {
  Make();
  scheduler_->SetReservedConcurrency("fn", 0);
  Invoke();
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].error->reason(), "ReservedFunctionConcurrentInvocationLimitExceeded");
  scheduler_->SetReservedConcurrency("fn", std::nullopt);
  Invoke();
  EXPECT_EQ(Started(), 1u);
}

TEST_F(SchedulerTest, AReservationIsHeldBackFromOtherFunctions) {
  Make([](SchedulerOptions& o) { o.concurrency_limit = 5; });
  scheduler_->SetReservedConcurrency("reserved", 3);
  auto other = Config("provided.al2023", "r1", "$LATEST", "other");
  for (int i = 0; i < 3; ++i) Invoke(other);
  ASSERT_EQ(outcomes_.size(), 1u) << "5 - 3 reserved leaves 2";
  EXPECT_EQ(outcomes_[0].error->reason(), "ConcurrentInvocationLimitExceeded");
  auto reserved = Config("provided.al2023", "r1", "$LATEST", "reserved");
  for (int i = 0; i < 3; ++i) Invoke(reserved);
  EXPECT_EQ(outcomes_.size(), 1u) << "the reservation is there for its function";
  EXPECT_EQ(scheduler_->Host().running, 5);
}

TEST_F(SchedulerTest, ProvisionedEnvironmentsAreKeptReadyServeFirstAndSpillOver) {
  Make([](SchedulerOptions& o) { o.idle_timeout = 5s; });
  auto v1 = Config("provided.al2023", "v1-rev", "1");
  scheduler_->SetProvisioned("fn", {{"1", {v1, 2}}});
  auto provisioned = Made(EnvironmentKind::kProvisioned);
  ASSERT_EQ(provisioned.size(), 2u);
  EXPECT_EQ(scheduler_->Provisioned("fn", "1").status, "IN_PROGRESS");
  for (auto& env : provisioned) env->Ready();
  auto status = scheduler_->Provisioned("fn", "1");
  EXPECT_EQ(status.status, "READY");
  EXPECT_EQ(status.allocated, 2);
  EXPECT_EQ(status.available, 2);
  for (int i = 0; i < 3; ++i) Invoke(v1);
  EXPECT_TRUE(provisioned[0]->active && provisioned[1]->active);
  EXPECT_EQ(Made(EnvironmentKind::kOnDemand).size(), 1u) << "the third call spills to on-demand";
  EXPECT_EQ(scheduler_->Provisioned("fn", "1").available, 0);
  // Idle past the timeout: the on-demand environment stops, the provisioned ones stay.
  Made(EnvironmentKind::kOnDemand)[0]->Ready();
  for (auto& env : made_) {
    if (env->active) env->Finish();
  }
  now_ += 10s;
  io_.run_for(1100ms);
  EXPECT_EQ(Made(EnvironmentKind::kOnDemand).size(), 0u);
  EXPECT_EQ(Made(EnvironmentKind::kProvisioned).size(), 2u);
  // A dead one is replaced.
  provisioned[0]->Kill();
  io_.poll();
  EXPECT_EQ(Made(EnvironmentKind::kProvisioned).size(), 2u);
  EXPECT_EQ(scheduler_->Provisioned("fn", "1").status, "IN_PROGRESS");
  // Removed: they stop.
  scheduler_->SetProvisioned("fn", {});
  io_.poll();
  EXPECT_EQ(Made(EnvironmentKind::kProvisioned).size(), 1u) << "the one still starting stops when it is up";
}

TEST_F(SchedulerTest, AFailedProvisionedInitIsReportedAndRetried) {
  Make();
  auto v1 = Config("provided.al2023", "v1-rev", "1");
  scheduler_->SetProvisioned("fn", {{"1", {v1, 1}}});
  ASSERT_EQ(made_.size(), 1u);
  made_[0]->FailStart(Outcome{R"({"errorType":"Runtime.ExitError"})", true});
  auto status = scheduler_->Provisioned("fn", "1");
  EXPECT_EQ(status.status, "FAILED");
  EXPECT_NE(status.reason.find("Runtime.ExitError"), std::string::npos) << status.reason;
  EXPECT_EQ(outcomes_.size(), 0u);
  io_.run_for(700ms);  // the first retry comes after 500 ms
  ASSERT_EQ(made_.size(), 2u);
  made_[1]->Ready();
  EXPECT_EQ(scheduler_->Provisioned("fn", "1").status, "READY");
}

TEST_F(SchedulerTest, TheMemoryBudgetEvictsOtherFunctionsIdleEnvironmentsThenThrottles) {
  Make([](SchedulerOptions& o) { o.memory_budget_mb = 1024; });
  auto a = Config("provided.al2023", "r1", "$LATEST", "a", 256);
  for (int i = 0; i < 4; ++i) Invoke(a);
  for (auto& env : made_) env->Ready();
  for (auto& env : made_) env->Finish();
  EXPECT_EQ(scheduler_->Host().memory_in_use_mb, 1024);
  auto b = Config("provided.al2023", "r1", "$LATEST", "b", 256);
  Invoke(b);
  EXPECT_EQ(Started(), 5u);
  EXPECT_EQ(std::count_if(made_.begin(), made_.end(), [](const auto& e) { return e->dead(); }), 1);
  EXPECT_EQ(scheduler_->Host().memory_in_use_mb, 1024);
  EXPECT_EQ(scheduler_->Host().evictions, 1u);
  made_[4]->Ready();  // b's runs; a's three others take calls
  for (int i = 0; i < 3; ++i) Invoke(a);
  auto c = Config("provided.al2023", "r1", "$LATEST", "c", 256);
  Invoke(c);
  ASSERT_EQ(outcomes_.size(), 5u) << "4 of a answered, then c";
  ASSERT_TRUE(outcomes_.back().error);
  EXPECT_EQ(outcomes_.back().error->reason(), "HostMemoryBudgetExceeded");
  EXPECT_EQ(Started(), 5u);
  io_.poll();
  EXPECT_EQ(scheduler_->Host().memory_in_use_mb, 1024);
}

TEST_F(SchedulerTest, DrainingRefusesNewCallsAndWaitsForRunningOnes) {
  Make();
  Invoke();
  made_[0]->Ready();
  bool drained = false;
  scheduler_->Drain([&] { drained = true; });
  io_.poll();
  EXPECT_FALSE(drained);
  Invoke();
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_TRUE(outcomes_[0].error);
  made_[0]->Finish();
  io_.poll();
  EXPECT_TRUE(drained);
}

#if LAMBENT_THREAD_CHECKS
TEST_F(SchedulerTest, ACallFromAThreadOtherThanTheIoThreadAborts) {
  Make();
  EXPECT_DEATH(std::thread([&] { Invoke(); }).join(), "scheduler.cc:[0-9]+: Invoke called on thread");
}
#endif

TEST(ScalingPolicyTest, Decisions) {
  ScalingOptions options;  // wait_ratio 4, 2 cores
  PoolLoad load;
  load.queued = 10;
  load.busy = 4;
  load.cpus_per_environment = 0.5;  // floor: 4
  EXPECT_EQ(DecideScaling(load, options).start, 10u) << "nothing measured";
  load.warm = Millis(1);
  load.cold = Millis(20);
  auto wait = DecideScaling(load, options);
  EXPECT_EQ(wait.start, 0u);
  EXPECT_TRUE(wait.waiting);
  EXPECT_EQ(wait.wait_budget.count(), 10);
  load.overdue = 3;
  EXPECT_EQ(DecideScaling(load, options).start, 3u);
  load.overdue = 0;
  load.starting = 1;
  load.busy = 1;  // under the floor of 4: two more
  EXPECT_EQ(DecideScaling(load, options).start, 2u);
  load.warm = Millis(6);  // 6 * 4 > 20: scale out
  load.busy = 4;
  load.starting = 0;
  EXPECT_EQ(DecideScaling(load, options).start, 10u);
  EXPECT_EQ(BusyFloor(0.07, options), 29u);
  EXPECT_EQ(BusyFloor(0.01, options), 64u);
  EXPECT_EQ(BusyFloor(4, options), 2u);
}

TEST(ScalingPolicyTest, RecentDurationFollowsTheLastSamples) {
  RecentDuration d;
  EXPECT_FALSE(d.value());
  d.Add(Millis(10));
  EXPECT_DOUBLE_EQ(d.value()->count(), 10);
  for (int i = 0; i < 50; ++i) d.Add(Millis(1));
  EXPECT_LT(d.value()->count(), 1.1);
}

}  // namespace
}  // namespace lambent::scheduler
