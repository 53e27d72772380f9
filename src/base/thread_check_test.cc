#include "base/thread_check.h"

#include <thread>

#include <gtest/gtest.h>

namespace lambent {
namespace {

TEST(ThreadAffinity, IsBoundToTheThreadThatChecksItFirst) {
  ThreadAffinity affinity;
  EXPECT_TRUE(affinity.OnOwner());
  EXPECT_TRUE(affinity.OnOwner());
  bool elsewhere = true;
  std::thread([&] { elsewhere = affinity.OnOwner(); }).join();
  EXPECT_FALSE(elsewhere);
}

TEST(ThreadAffinity, BindHereMovesItToTheCallingThread) {
  ThreadAffinity affinity;
  std::thread([&] { affinity.BindHere(); }).join();
  EXPECT_FALSE(affinity.OnOwner());
  affinity.BindHere();
  EXPECT_TRUE(affinity.OnOwner());
}

TEST(ThreadAffinity, TheCheckPassesOnTheOwningThread) {
  ThreadAffinity affinity;
  affinity.BindHere();
  LAMBENT_DCHECK_THREAD(affinity);
  affinity.Check("here", __FILE__, __LINE__);
}

TEST(ThreadAffinityDeathTest, ACallFromAnotherThreadAbortsNamingTheCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ThreadAffinity affinity;
  affinity.BindHere();
  EXPECT_DEATH(std::thread([&] { affinity.Check("Environment::Assign", "environment.cc", 7); }).join(),
               "environment.cc:7: Environment::Assign called on thread [0-9]+ .*; it belongs to thread [0-9]+");
}

#if LAMBENT_THREAD_CHECKS
TEST(ThreadAffinityDeathTest, TheMacroChecksInThisBuild) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ThreadAffinity affinity;
  affinity.BindHere();
  EXPECT_DEATH(std::thread([&] { LAMBENT_DCHECK_THREAD(affinity); }).join(), "belongs to thread");
}
#else
TEST(ThreadAffinity, TheMacroIsCompiledOutInThisBuild) {
  ThreadAffinity affinity;
  affinity.BindHere();
  std::thread([&] { LAMBENT_DCHECK_THREAD(affinity); }).join();
}
#endif

}  // namespace
}  // namespace lambent
