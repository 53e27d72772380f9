#include "sandbox/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace lambent::sandbox {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lambent-cgroup-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CgroupTest, V2WritesMemoryPidsAndCpuLimits) {
  fs::create_directories(root_ / "lambent");
  auto manager = MakeCgroupV2(root_ / "lambent");
  auto dir = manager->Create("env-1", {256ll << 20, 1024, 0.5});
  ASSERT_TRUE(dir) << dir.error().message();
  fs::path d = root_ / "lambent" / "env-1";
  EXPECT_EQ(Read(d / "memory.max"), std::to_string(256ll << 20));
  EXPECT_EQ(Read(d / "pids.max"), "1024");
  EXPECT_EQ(Read(d / "cpu.max"), "5000 10000");
  ASSERT_TRUE((*dir)->Attach(4242));
  EXPECT_EQ(Read(d / "cgroup.procs"), "4242");
  // The destructor kills what cgroup.procs lists: it must not meet a real pid here.
  Write(d / "cgroup.procs", "");
}

TEST_F(CgroupTest, V2ReportsPeakMemoryAndOomKills) {
  fs::create_directories(root_ / "lambent");
  auto dir = MakeCgroupV2(root_ / "lambent")->Create("env-1", {});
  ASSERT_TRUE(dir);
  fs::path d = root_ / "lambent" / "env-1";
  Write(d / "memory.peak", "134217728\n");
  Write(d / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  auto usage = (*dir)->Usage();
  EXPECT_EQ(usage.peak_memory_bytes, 134217728);
  EXPECT_TRUE(usage.oom_killed);
}

TEST_F(CgroupTest, V1WritesEachControllersLimitAndReadsTheOomCounter) {
  for (auto c : {"memory", "pids", "cpu"}) fs::create_directories(root_ / c / "lambent");
  auto manager = MakeCgroupV1({{"memory", root_ / "memory/lambent"},
                               {"pids", root_ / "pids/lambent"},
                               {"cpu", root_ / "cpu/lambent"}});
  auto dir = manager->Create("env-2", {128ll << 20, 64, 2.0});
  ASSERT_TRUE(dir) << dir.error().message();
  EXPECT_EQ(Read(root_ / "memory/lambent/env-2/memory.limit_in_bytes"), std::to_string(128ll << 20));
  EXPECT_EQ(Read(root_ / "pids/lambent/env-2/pids.max"), "64");
  EXPECT_EQ(Read(root_ / "cpu/lambent/env-2/cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(Read(root_ / "cpu/lambent/env-2/cpu.cfs_period_us"), "10000");
  ASSERT_TRUE((*dir)->Attach(77));
  for (auto c : {"memory", "pids", "cpu"}) {
    EXPECT_EQ(Read(root_ / c / "lambent/env-2/cgroup.procs"), "77");
    Write(root_ / c / "lambent/env-2/cgroup.procs", "");  // keep the destructor off real pids
  }
  Write(root_ / "memory/lambent/env-2/memory.max_usage_in_bytes", "1048576");
  Write(root_ / "memory/lambent/env-2/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  auto usage = (*dir)->Usage();
  EXPECT_EQ(usage.peak_memory_bytes, 1048576);
  EXPECT_TRUE(usage.oom_killed);
}

TEST_F(CgroupTest, TheCpuBurstFollowsTheQuotaWhereTheKernelHasOne) {
  fs::create_directories(root_ / "v2/lambent/env-6");
  Write(root_ / "v2/lambent/env-6/cpu.max.burst", "0");
  auto v2 = MakeCgroupV2(root_ / "v2/lambent")->Create("env-6", {128ll << 20, 1024, 0.25});
  ASSERT_TRUE(v2) << v2.error().message();
  EXPECT_EQ(Read(root_ / "v2/lambent/env-6/cpu.max"), "2500 10000");
  EXPECT_EQ(Read(root_ / "v2/lambent/env-6/cpu.max.burst"), "2500");
  Write(root_ / "v2/lambent/env-6/cgroup.procs", "");

  fs::create_directories(root_ / "v1/cpu/lambent/env-7");
  Write(root_ / "v1/cpu/lambent/env-7/cpu.cfs_burst_us", "0");
  auto v1 = MakeCgroupV1({{"cpu", root_ / "v1/cpu/lambent"}})->Create("env-7", {128ll << 20, 1024, 0.25});
  ASSERT_TRUE(v1) << v1.error().message();
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-7/cpu.cfs_quota_us"), "2500");
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-7/cpu.cfs_burst_us"), "2500");
  Write(root_ / "v1/cpu/lambent/env-7/cgroup.procs", "");
}

TEST_F(CgroupTest, LimitsCanBeReplacedWhenAPrestartedEnvironmentIsAssigned) {
  fs::create_directories(root_ / "v2/lambent");
  auto v2 = MakeCgroupV2(root_ / "v2/lambent")->Create("env-4", {1024ll << 20, 1024, 1.0});
  ASSERT_TRUE(v2);
  ASSERT_TRUE((*v2)->SetLimits({256ll << 20, 1024, 0.25}));
  EXPECT_EQ(Read(root_ / "v2/lambent/env-4/memory.max"), std::to_string(256ll << 20));
  EXPECT_EQ(Read(root_ / "v2/lambent/env-4/cpu.max"), "2500 10000");

  for (auto c : {"memory", "pids", "cpu"}) fs::create_directories(root_ / "v1" / c / "lambent");
  auto v1 = MakeCgroupV1({{"memory", root_ / "v1/memory/lambent"},
                          {"pids", root_ / "v1/pids/lambent"},
                          {"cpu", root_ / "v1/cpu/lambent"}})
                ->Create("env-5", {1024ll << 20, 1024, 1.0});
  ASSERT_TRUE(v1);
  // With swap accounted, memsw must follow the memory limit down and up.
  Write(root_ / "v1/memory/lambent/env-5/memory.memsw.limit_in_bytes", std::to_string(1024ll << 20));
  for (int64_t mb : {128, 2048}) {
    ASSERT_TRUE((*v1)->SetLimits({mb << 20, 1024, 0.5}));
    EXPECT_EQ(Read(root_ / "v1/memory/lambent/env-5/memory.limit_in_bytes"), std::to_string(mb << 20));
    EXPECT_EQ(Read(root_ / "v1/memory/lambent/env-5/memory.memsw.limit_in_bytes"), std::to_string(mb << 20));
  }
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-5/cpu.cfs_quota_us"), "5000");
}

TEST_F(CgroupTest, TheCpuShareAloneCanBeLoweredAfterInit) {
  fs::create_directories(root_ / "v2/lambent");
  auto v2 = MakeCgroupV2(root_ / "v2/lambent")->Create("env-8", {128ll << 20, 1024, 1.0});
  ASSERT_TRUE(v2);
  Write(root_ / "v2/lambent/env-8/cpu.max.burst", "10000");
  ASSERT_TRUE((*v2)->SetCpus(0.25));
  EXPECT_EQ(Read(root_ / "v2/lambent/env-8/cpu.max"), "2500 10000");
  EXPECT_EQ(Read(root_ / "v2/lambent/env-8/cpu.max.burst"), "2500");
  EXPECT_EQ(Read(root_ / "v2/lambent/env-8/memory.max"), std::to_string(128ll << 20));

  fs::create_directories(root_ / "v1/cpu/lambent/env-9");
  Write(root_ / "v1/cpu/lambent/env-9/cpu.cfs_burst_us", "0");
  auto v1 = MakeCgroupV1({{"cpu", root_ / "v1/cpu/lambent"}})->Create("env-9", {128ll << 20, 1024, 1.0});
  ASSERT_TRUE(v1);
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-9/cpu.cfs_quota_us"), "10000");
  ASSERT_TRUE((*v1)->SetCpus(0.25));
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-9/cpu.cfs_quota_us"), "2500");
  EXPECT_EQ(Read(root_ / "v1/cpu/lambent/env-9/cpu.cfs_burst_us"), "2500");
  Write(root_ / "v1/cpu/lambent/env-9/cgroup.procs", "");
  Write(root_ / "v2/lambent/env-8/cgroup.procs", "");
}

TEST_F(CgroupTest, V2NewProcessesAreBornInTheGroupThroughItsDirectory) {
  fs::create_directories(root_ / "lambent");
  auto dir = MakeCgroupV2(root_ / "lambent")->Create("env-3", {});
  ASSERT_TRUE(dir);
  auto join = (*dir)->PrepareJoin();
  ASSERT_TRUE(join) << join.error().message();
  ASSERT_TRUE(join->clone_into.valid());
  EXPECT_TRUE(join->self_tasks.empty());
  struct stat by_fd, by_path;
  ASSERT_EQ(::fstat(join->clone_into.get(), &by_fd), 0);
  ASSERT_EQ(::stat((root_ / "lambent/env-3").c_str(), &by_path), 0);
  EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
}

TEST_F(CgroupTest, V1NewProcessesMoveThemselvesThroughEachControllersTasksFile) {
  for (auto c : {"memory", "pids", "cpu"}) fs::create_directories(root_ / c / "lambent");
  auto dir = MakeCgroupV1({{"memory", root_ / "memory/lambent"},
                           {"pids", root_ / "pids/lambent"},
                           {"cpu", root_ / "cpu/lambent"}})
                 ->Create("env-4", {});
  ASSERT_TRUE(dir);
  auto join = (*dir)->PrepareJoin();
  ASSERT_TRUE(join) << join.error().message();
  EXPECT_FALSE(join->clone_into.valid());
  ASSERT_EQ(join->self_tasks.size(), 3u);
  for (const auto& fd : join->self_tasks) ASSERT_EQ(::write(fd.get(), "0", 1), 1);
  for (auto c : {"memory", "pids", "cpu"}) EXPECT_EQ(Read(root_ / c / "lambent/env-4/tasks"), "0");
}

TEST_F(CgroupTest, DetectPrefersAUnifiedHierarchyWithMemoryAndPids) {
  fs::create_directories(root_ / "unified" / "svc");
  Write(root_ / "unified" / "cgroup.controllers", "cpu memory pids\n");
  auto manager = CgroupManager::Detect(root_, "0::/svc\n4:memory:/svc\n", "lambent");
  ASSERT_TRUE(manager) << manager.error().message();
  EXPECT_NE((*manager)->Describe().find("v2"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "unified" / "svc" / "lambent" / std::to_string(::getpid())));
}

TEST_F(CgroupTest, DetectFallsBackToV1UnderTheDaemonsOwnGroups) {
  fs::create_directories(root_ / "unified");
  Write(root_ / "unified" / "cgroup.controllers", "");  // a hybrid host's empty v2
  for (auto c : {"memory", "pids", "cpu"}) {
    fs::create_directories(root_ / c);
    Write(root_ / c / "cgroup.procs", "");
  }
  auto manager = CgroupManager::Detect(root_, "4:memory:/job/42\n8:pids:/\n1:cpu,cpuacct:/\n0::/\n", "lambent");
  ASSERT_TRUE(manager) << manager.error().message();
  EXPECT_NE((*manager)->Describe().find("v1"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "memory/job/42/lambent" / std::to_string(::getpid())));
  EXPECT_TRUE(fs::exists(root_ / "cpu/lambent" / std::to_string(::getpid())));
}

TEST_F(CgroupTest, DetectRemovesTheGroupsOfDaemonsThatAreGone) {
  for (auto c : {"memory", "pids", "cpu"}) {
    fs::create_directories(root_ / c / "lambent" / "999999999" / "env-1");
    Write(root_ / c / "cgroup.procs", "");
  }
  auto manager = CgroupManager::Detect(root_, "4:memory:/\n8:pids:/\n1:cpu:/\n", "lambent");
  ASSERT_TRUE(manager) << manager.error().message();
  // A plain directory with files cannot be rmdir'ed, but empty groups like these go.
  EXPECT_FALSE(fs::exists(root_ / "pids/lambent/999999999/env-1"));
}

TEST_F(CgroupTest, V1FreezesAndThawsThroughTheFreezerHierarchy) {
  for (auto c : {"memory", "pids", "cpu", "freezer"}) fs::create_directories(root_ / c / "lambent");
  // cgroupfs makes freezer.state with the group; a plain directory needs it made first.
  fs::create_directories(root_ / "freezer/lambent/env-6");
  Write(root_ / "freezer/lambent/env-6/freezer.state", "THAWED");
  auto dir = MakeCgroupV1({{"freezer", root_ / "freezer/lambent"},
                           {"memory", root_ / "memory/lambent"},
                           {"pids", root_ / "pids/lambent"},
                           {"cpu", root_ / "cpu/lambent"}})
                 ->Create("env-6", {});
  ASSERT_TRUE(dir) << dir.error().message();
  ASSERT_TRUE((*dir)->CanFreeze());
  ASSERT_TRUE((*dir)->Freeze());
  EXPECT_EQ(Read(root_ / "freezer/lambent/env-6/freezer.state"), "FROZEN");
  ASSERT_TRUE((*dir)->Thaw());
  EXPECT_EQ(Read(root_ / "freezer/lambent/env-6/freezer.state"), "THAWED");
  // Processes join the freezer group as they join the others.
  auto join = (*dir)->PrepareJoin();
  ASSERT_TRUE(join);
  EXPECT_EQ(join->self_tasks.size(), 4u);
  // The destructor thaws before it kills: a frozen v1 process ignores SIGKILL.
  ASSERT_TRUE((*dir)->Freeze());
  dir->reset();
  EXPECT_EQ(Read(root_ / "freezer/lambent/env-6/freezer.state"), "THAWED");
}

TEST_F(CgroupTest, V1WithoutTheFreezerHierarchyCannotFreeze) {
  for (auto c : {"memory", "pids", "cpu"}) fs::create_directories(root_ / c / "lambent");
  auto dir = MakeCgroupV1({{"memory", root_ / "memory/lambent"},
                           {"pids", root_ / "pids/lambent"},
                           {"cpu", root_ / "cpu/lambent"}})
                 ->Create("env-7", {});
  ASSERT_TRUE(dir);
  EXPECT_FALSE((*dir)->CanFreeze());
  EXPECT_FALSE((*dir)->Freeze());
  EXPECT_FALSE((*dir)->Thaw());
}

TEST_F(CgroupTest, V2FreezesAndThawsThroughCgroupFreeze) {
  fs::create_directories(root_ / "lambent/env-8");
  Write(root_ / "lambent/env-8/cgroup.freeze", "0");
  auto dir = MakeCgroupV2(root_ / "lambent")->Create("env-8", {});
  ASSERT_TRUE(dir) << dir.error().message();
  ASSERT_TRUE((*dir)->CanFreeze());
  ASSERT_TRUE((*dir)->Freeze());
  EXPECT_EQ(Read(root_ / "lambent/env-8/cgroup.freeze"), "1");
  ASSERT_TRUE((*dir)->Thaw());
  EXPECT_EQ(Read(root_ / "lambent/env-8/cgroup.freeze"), "0");
}

TEST_F(CgroupTest, DetectJoinsTheFreezerAndThawsTheGroupsOfDaemonsThatAreGone) {
  for (auto c : {"memory", "pids", "cpu", "freezer"}) {
    fs::create_directories(root_ / c);
    Write(root_ / c / "cgroup.procs", "");
  }
  fs::create_directories(root_ / "freezer/lambent/999999999/env-1");
  Write(root_ / "freezer/lambent/999999999/env-1/freezer.state", "FROZEN");
  auto manager = CgroupManager::Detect(root_, "4:memory:/\n8:pids:/\n1:cpu:/\n6:freezer:/\n", "lambent");
  ASSERT_TRUE(manager) << manager.error().message();
  EXPECT_NE((*manager)->Describe().find("freezer="), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "freezer/lambent" / std::to_string(::getpid())));
  EXPECT_EQ(Read(root_ / "freezer/lambent/999999999/env-1/freezer.state"), "THAWED");
  // One empty group stays frozen while the manager lives: the kernel's freezer stays switched
  // on, and thawing an environment is not a kernel text patch.
  EXPECT_EQ(Read(root_ / "freezer/lambent" / std::to_string(::getpid()) / "frozen-sentinel/freezer.state"),
            "FROZEN");
}

TEST(CpuShare, FollowsLambdasRuleWithAFloor) {
  EXPECT_DOUBLE_EQ(CpusForMemory(1769, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(CpusForMemory(3538, 0.1), 2.0);
  EXPECT_DOUBLE_EQ(CpusForMemory(128, 0.25), 0.25);
}

}  // namespace
}  // namespace lambent::sandbox
