#include "http/spool.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace lambent::http {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spool_test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  BodySpool MakeSpool(uint64_t per_body, uint64_t memory_total, uint64_t disk_total) {
    return BodySpool(dir_, {per_body, memory_total, disk_total});
  }

  fs::path dir_;
};

TEST_F(SpoolTest, KeepsASmallBodyInMemoryAndChargesItUntilTaken) {
  auto spool = MakeSpool(100, 1000, 1000);
  SpooledData body;
  body.set_spool(&spool);
  ASSERT_TRUE(body.Begin(10));
  ASSERT_TRUE(body.Append("0123456789", 10));
  EXPECT_FALSE(body.spooled());
  EXPECT_EQ(spool.memory_in_use(), 10u);
  auto taken = body.Take();
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, "0123456789");
  EXPECT_EQ(spool.memory_in_use(), 0u);
}

TEST_F(SpoolTest, SendsABodyAnnouncedLargerThanThePerBodyLimitStraightToDisk) {
  auto spool = MakeSpool(4, 1000, 1000);
  SpooledData body;
  body.set_spool(&spool);
  ASSERT_TRUE(body.Begin(10));
  EXPECT_TRUE(body.spooled());
  EXPECT_EQ(spool.memory_in_use(), 0u);
  EXPECT_EQ(spool.disk_in_use(), 10u);
  ASSERT_TRUE(body.Append("01234", 5));
  ASSERT_TRUE(body.Append("56789", 5));
  auto taken = body.Take();
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, "0123456789");
  EXPECT_EQ(spool.disk_in_use(), 0u);
  // Spool files are unlinked from the start: nothing is left in the directory.
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(SpoolTest, SpillsAGrowingBodyOfUnknownSizeToDiskPastThePerBodyLimit) {
  auto spool = MakeSpool(8, 1000, 1000);
  SpooledData body;
  body.set_spool(&spool);
  ASSERT_TRUE(body.Begin(boost::none));
  ASSERT_TRUE(body.Append("abcdef", 6));
  EXPECT_FALSE(body.spooled());
  EXPECT_EQ(spool.memory_in_use(), 6u);
  ASSERT_TRUE(body.Append("ghijkl", 6));
  EXPECT_TRUE(body.spooled());
  EXPECT_EQ(spool.memory_in_use(), 0u);
  EXPECT_EQ(spool.disk_in_use(), 12u);
  EXPECT_EQ(*body.Take(), "abcdefghijkl");
}

TEST_F(SpoolTest, SpillsWhenAllBodiesTogetherReachTheMemoryTotal) {
  auto spool = MakeSpool(100, 15, 1000);
  SpooledData first, second;
  first.set_spool(&spool);
  second.set_spool(&spool);
  ASSERT_TRUE(first.Begin(10));
  ASSERT_TRUE(second.Begin(10));
  EXPECT_FALSE(first.spooled());
  EXPECT_TRUE(second.spooled());
  EXPECT_EQ(spool.memory_in_use(), 10u);
}

TEST_F(SpoolTest, RefusesABodyWhenTheDiskAllowanceIsSpent) {
  auto spool = MakeSpool(1, 1, 10);
  SpooledData body;
  body.set_spool(&spool);
  auto begun = body.Begin(11);
  ASSERT_FALSE(begun);
  EXPECT_EQ(begun.error().sys_errno(), ENOSPC);
  EXPECT_EQ(spool.disk_in_use(), 0u);
}

TEST_F(SpoolTest, ReleasesItsChargesWhenDroppedUnfinished) {
  auto spool = MakeSpool(4, 100, 100);
  {
    SpooledData small, large;
    small.set_spool(&spool);
    large.set_spool(&spool);
    ASSERT_TRUE(small.Begin(3));
    ASSERT_TRUE(large.Begin(50));
    ASSERT_TRUE(large.Append("x", 1));
    SpooledData moved = std::move(large);
    EXPECT_EQ(spool.memory_in_use(), 3u);
    EXPECT_EQ(spool.disk_in_use(), 50u);
  }
  EXPECT_EQ(spool.memory_in_use(), 0u);
  EXPECT_EQ(spool.disk_in_use(), 0u);
}

TEST_F(SpoolTest, WithoutASpoolEverythingStaysInMemory) {
  SpooledData body;
  ASSERT_TRUE(body.Begin(1 << 20));
  std::string chunk(1 << 20, 'z');
  ASSERT_TRUE(body.Append(chunk.data(), chunk.size()));
  EXPECT_FALSE(body.spooled());
  EXPECT_EQ(*body.Take(), chunk);
}

}  // namespace
}  // namespace lambent::http
