#include "scheduler/freezer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lambent::scheduler {
namespace {

using namespace std::chrono_literals;

// Runs the handlers due within `d` (an io_context that ran out of work needs a restart).
void RunFor(boost::asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

// Records what the Freezer asks of the group.
class FakeCgroup : public sandbox::CgroupDir {
 public:
  Result<void> Attach(pid_t) override { return Ok(); }
  Result<sandbox::CgroupJoin> PrepareJoin() const override { return sandbox::CgroupJoin{}; }
  Result<void> SetLimits(const sandbox::CgroupLimits&) override { return Ok(); }
  Result<void> SetCpus(double) override { return Ok(); }
  sandbox::CgroupUsage Usage() const override { return {}; }
  int64_t PeakMemoryBytes() const override { return 0; }
  bool CanFreeze() const override { return can_freeze; }
  Result<void> Freeze() override {
    calls.push_back("freeze");
    return Ok();
  }
  Result<void> Thaw() override {
    calls.push_back("thaw");
    return Ok();
  }
  bool can_freeze = true;
  std::vector<std::string> calls;
};

TEST(Freezer, FreezesAnEnvironmentThatStaysIdleForTheDelay) {
  boost::asio::io_context io;
  FakeCgroup cgroup;
  Freezer freezer(io, 30ms);
  freezer.Attach(&cgroup);
  freezer.Idle();
  RunFor(io, 10ms);
  EXPECT_FALSE(freezer.frozen());
  RunFor(io, 60ms);
  EXPECT_TRUE(freezer.frozen());
  EXPECT_EQ(cgroup.calls, std::vector<std::string>{"freeze"});
  freezer.Wake();
  EXPECT_FALSE(freezer.frozen());
  EXPECT_EQ(cgroup.calls, (std::vector<std::string>{"freeze", "thaw"}));
  EXPECT_EQ(freezer.thaws(), 1);
}

TEST(Freezer, NeverFreezesAnEnvironmentKeptBusy) {
  boost::asio::io_context io;
  FakeCgroup cgroup;
  Freezer freezer(io, 30ms);
  freezer.Attach(&cgroup);
  // Idle for 10 ms at a time, well within the delay, for ten times the delay.
  for (int i = 0; i < 30; ++i) {
    freezer.Idle();
    RunFor(io, 10ms);
    freezer.Wake();
  }
  EXPECT_TRUE(cgroup.calls.empty());
  // Then idle for good: frozen a delay after the last Idle, not after the first.
  freezer.Idle();
  RunFor(io, 80ms);
  EXPECT_EQ(cgroup.calls, std::vector<std::string>{"freeze"});
}

TEST(Freezer, ThawsBeforeTheGroupIsHandedOnOrTheFreezerGoes) {
  boost::asio::io_context io;
  FakeCgroup cgroup;
  {
    Freezer freezer(io, 10ms);
    freezer.Attach(&cgroup);
    freezer.Idle();
    RunFor(io, 40ms);
    ASSERT_TRUE(freezer.frozen());
    freezer.Attach(nullptr);  // the cgroup goes to the reaper, which kills what is inside
    EXPECT_EQ(cgroup.calls, (std::vector<std::string>{"freeze", "thaw"}));
    freezer.Attach(&cgroup);
    freezer.Idle();
    RunFor(io, 40ms);
  }
  EXPECT_EQ(cgroup.calls, (std::vector<std::string>{"freeze", "thaw", "freeze", "thaw"}));
  RunFor(io, 20ms);  // a handler still queued must not touch the Freezer that is gone
}

TEST(Freezer, LeavesAGroupThatCannotFreezeOrAZeroDelayAlone) {
  boost::asio::io_context io;
  FakeCgroup cgroup;
  cgroup.can_freeze = false;
  Freezer freezer(io, 10ms);
  freezer.Attach(&cgroup);
  freezer.Idle();
  RunFor(io, 30ms);
  EXPECT_FALSE(freezer.frozen());
  cgroup.can_freeze = true;
  Freezer disabled(io, 0ms);
  disabled.Attach(&cgroup);
  disabled.Idle();
  RunFor(io, 30ms);
  EXPECT_TRUE(cgroup.calls.empty());
}

}  // namespace
}  // namespace lambent::scheduler
