#include "cli/fd_budget.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace lambent::cli {
namespace {

TEST(FdBudget, GivesAQuarterOfASmallLimitToConnectionsAndTheRestBeyondTheReserveToEnvironments) {
  auto plan = PlanFds(1024, 0);
  EXPECT_EQ(plan.max_connections, 256u);
  EXPECT_EQ(plan.environment_fds, 1024u - kReservedFds - 256u);
}

TEST(FdBudget, CapsConnectionsAt4096UnderALargeLimit) {
  auto plan = PlanFds(1 << 20, 0);
  EXPECT_EQ(plan.max_connections, 4096u);
  EXPECT_EQ(plan.environment_fds, (1u << 20) - kReservedFds - 4096u);
}

TEST(FdBudget, HonoursAnExplicitConnectionCapEvenPastTheLimit) {
  auto plan = PlanFds(256, 1000);
  EXPECT_EQ(plan.max_connections, 1000u);
  EXPECT_EQ(plan.environment_fds, 0u);
}

TEST(FdBudget, LeavesNothingForEnvironmentsBelowTheReserve) {
  EXPECT_EQ(PlanFds(64, 0).environment_fds, 0u);
}

TEST(FdBudget, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  uint64_t now = RaiseFdLimit();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(now, after.rlim_cur);
  EXPECT_GE(after.rlim_cur, before.rlim_cur);
  if (before.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(after.rlim_cur, before.rlim_max);
  }
}

}  // namespace
}  // namespace lambent::cli
