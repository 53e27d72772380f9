#include "cli/memory_size.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace lambent::cli {
namespace {

namespace fs = std::filesystem;

TEST(MemorySize, ReadsABareNumberAsMiBLikeLambdasMemorySize) {
  EXPECT_EQ(ParseMemorySizeMb("4096", 0).value(), 4096);
  EXPECT_EQ(ParseMemorySizeMb("0", 0).value(), 0);
}

TEST(MemorySize, ReadsBinaryUnitsInAnyCase) {
  EXPECT_EQ(ParseMemorySizeMb("800M", 0).value(), 800);
  EXPECT_EQ(ParseMemorySizeMb("800mb", 0).value(), 800);
  EXPECT_EQ(ParseMemorySizeMb("4G", 0).value(), 4096);
  EXPECT_EQ(ParseMemorySizeMb("1.5GiB", 0).value(), 1536);
  EXPECT_EQ(ParseMemorySizeMb("2048k", 0).value(), 2);
  EXPECT_EQ(ParseMemorySizeMb("1T", 0).value(), 1 << 20);
}

TEST(MemorySize, ReadsAShareOfPhysicalMemory) {
  EXPECT_EQ(ParseMemorySizeMb("50%", 8000).value(), 4000);
  EXPECT_EQ(ParseMemorySizeMb("100%", 8000).value(), 8000);
  EXPECT_FALSE(ParseMemorySizeMb("101%", 8000));
  EXPECT_FALSE(ParseMemorySizeMb("50%", 0));
}

TEST(MemorySize, RefusesWhatIsNotASize) {
  for (const char* text : {"", "G", "-1", "4X", "4 G", "1e3", "..", "0.5k", "99999999999G"}) {
    auto parsed = ParseMemorySizeMb(text, 8000);
    EXPECT_FALSE(parsed) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument) << text;
    }
  }
}

TEST(MemorySize, DefaultsTo80PercentOfTheHostsMemory) {
  int64_t host = HostMemoryMb();
  ASSERT_GT(host, 0);
  EXPECT_LE(host, PhysicalMemoryMb());
  EXPECT_EQ(DefaultMemoryBudgetMb(), host * 8 / 10);
}

class CgroupMemoryLimit : public ::testing::Test {
 protected:
  CgroupMemoryLimit()
      : root_(fs::temp_directory_path() / ("memory_size_test." + std::to_string(::getpid()))) {
    fs::remove_all(root_);
  }
  ~CgroupMemoryLimit() override { fs::remove_all(root_); }
  void Write(const fs::path& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text << "\n";
  }
  fs::path root_;
};

TEST_F(CgroupMemoryLimit, TakesTheLowestLimitOfTheGroupAndItsAncestorsOnV2) {
  Write("memory.max", "max");
  Write("box/memory.max", std::to_string(4ll << 30));
  Write("box/daemon/memory.max", "max");
  EXPECT_EQ(CgroupMemoryLimitMb(root_, "0::/box/daemon\n"), 4096);
}

TEST_F(CgroupMemoryLimit, ReadsTheV1MemoryHierarchy) {
  Write("memory/memory.limit_in_bytes", "9223372036854771712");
  Write("memory/docker/abc/memory.limit_in_bytes", std::to_string(2ll << 30));
  EXPECT_EQ(CgroupMemoryLimitMb(root_, "5:pids:/other\n4:memory:/docker/abc\n0::/\n"), 2048);
}

TEST_F(CgroupMemoryLimit, SaysNothingWithoutALimit) {
  Write("memory/memory.limit_in_bytes", "9223372036854771712");
  Write("memory.max", "max");
  EXPECT_EQ(CgroupMemoryLimitMb(root_, "4:memory:/\n0::/\n"), std::nullopt);
  EXPECT_EQ(CgroupMemoryLimitMb(root_, "garbage"), std::nullopt);
}

}  // namespace
}  // namespace lambent::cli
