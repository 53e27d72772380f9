#include "telemetry/log_store.h"

#include <unistd.h>

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/clock.h"

namespace lambent::telemetry {
namespace {

namespace fs = std::filesystem;

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-log-store-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string Lines(int from, int to) {
  std::string text;
  for (int i = from; i <= to; ++i) text += "line " + std::to_string(i) + " " + std::string(100, 'x') + "\n";
  return text;
}

TEST_F(LogStoreTest, ReadsTheWholeLogOrItsLastLines) {
  LogStore logs(dir_);
  logs.Append("fn", "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 0), "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 2), "two\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 3), "one\ntwo\nthree\n");
  EXPECT_EQ(*logs.Read("fn", 10), "one\ntwo\nthree\n");
  logs.Append("fn", "partial");
  EXPECT_EQ(*logs.Read("fn", 1), "partial");
  EXPECT_EQ(*logs.Read("fn", 2), "three\npartial");
}

TEST_F(LogStoreTest, TailsAcrossManyBlocksOfALongLog) {
  LogStore logs(dir_);
  logs.Append("fn", Lines(1, 5000));  // ~550 KB: several read blocks
  EXPECT_EQ(*logs.Read("fn", 1), Lines(5000, 5000));
  EXPECT_EQ(*logs.Read("fn", 1500), Lines(3501, 5000));
  EXPECT_EQ(*logs.Read("fn", 6000), Lines(1, 5000));
  EXPECT_EQ(*logs.Read("fn", 0), Lines(1, 5000));
}

TEST_F(LogStoreTest, StampsEachLineWithItsTimeAndGivesItBackOnlyWhenAsked) {
  LogStore logs(dir_, {.timestamp_lines = true});
  // Pieces that end mid-line, as a pipe delivers them: one stamp per line, where it starts.
  logs.Append("fn", "START one\npart");
  logs.Append("fn", "ial line\n");
  logs.Append("fn", "last\n");
  EXPECT_EQ(*logs.Read("fn", 0), "START one\npartial line\nlast\n");
  EXPECT_EQ(*logs.Read("fn", 2), "partial line\nlast\n");
  std::string stamped = *logs.Read("fn", 0, /*timestamps=*/true);
  const std::regex kStamped(
      R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z START one\n)"
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z partial line\n)"
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z last\n))");
  EXPECT_TRUE(std::regex_match(stamped, kStamped)) << stamped;
}

TEST_F(LogStoreTest, AFunctionWithoutALogIsNotFound) {
  LogStore logs(dir_);
  auto text = logs.Read("nobody", 5);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), ErrorCode::kNotFound);
}

int64_t BytesOnDisk(const fs::path& dir) {
  int64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) total += int64_t(entry.file_size());
  return total;
}

TEST_F(LogStoreTest, ALogOverItsLimitKeepsItsNewestLinesAndTailsAcrossTheRotation) {
  LogStore logs(dir_, {.max_bytes_per_function = 100 * 1000});
  for (int i = 0; i < 50; ++i) {
    logs.Append("fn", Lines(i * 100 + 1, i * 100 + 100));  // ~11 KB per flush, 550 KB in all
    logs.Flush();
  }
  EXPECT_LE(BytesOnDisk(dir_), 100 * 1000);
  EXPECT_TRUE(fs::exists(dir_ / "fn.log.1"));
  // Files of 4 flushes each (a 5th would pass 50 KB): the current file has lines 4801-5000,
  // the previous one 4401-4800.
  EXPECT_EQ(*logs.Read("fn", 500), Lines(4501, 5000));
  EXPECT_EQ(*logs.Read("fn", 0), Lines(4401, 5000));
}

TEST_F(LogStoreTest, MoreThanTheLimitBetweenTwoFlushesKeepsTheNewestAndSaysSo) {
  LogStore logs(dir_, {.max_bytes_per_function = 20 * 1000});
  logs.Append("fn", Lines(1, 1000));
  std::string tail = *logs.Read("fn", 3);
  EXPECT_EQ(tail, Lines(998, 1000));
  std::string all = *logs.Read("fn", 0);
  EXPECT_NE(all.find("bytes of output dropped"), std::string::npos);
  EXPECT_LE(BytesOnDisk(dir_), 20 * 1000);
}

TEST_F(LogStoreTest, RemoveDeletesTheFilesAndWhatIsBuffered) {
  LogStore logs(dir_, {.max_bytes_per_function = 4000});
  logs.Append("fn", Lines(1, 100));
  logs.Flush();
  logs.Append("fn", "buffered\n");
  logs.Append("other", "stays\n");
  logs.Remove("fn");
  logs.Flush();
  EXPECT_FALSE(fs::exists(dir_ / "fn.log"));
  EXPECT_FALSE(fs::exists(dir_ / "fn.log.1"));
  EXPECT_EQ(logs.Read("fn", 0).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(*logs.Read("other", 0), "stays\n");
}

TEST_F(LogStoreTest, ALateAppendForADeletedFunctionDoesNotBringItsLogBack) {
  std::set<std::string> functions{"fn"};
  LogStore logs(dir_, {.exists = [&](const std::string& name) { return functions.contains(name); }});
  logs.Append("fn", "before\n");
  functions.erase("fn");
  logs.Remove("fn");
  logs.Append("fn", "late output of an environment still stopping\n");
  logs.Flush();
  EXPECT_FALSE(fs::exists(dir_ / "fn.log"));
  EXPECT_EQ(logs.Read("fn", 0).error().code(), ErrorCode::kNotFound);
}

TEST_F(LogStoreTest, RemoveAllExceptDeletesTheLogsOfFunctionsThatAreGone) {
  {
    LogStore logs(dir_, {.max_bytes_per_function = 4000});
    for (const char* fn : {"kept", "gone"}) {
      for (int i = 0; i < 5; ++i) {
        logs.Append(fn, Lines(1, 10));
        logs.Flush();
      }
    }
    ASSERT_TRUE(fs::exists(dir_ / "gone.log.1"));
  }
  LogStore logs(dir_);
  logs.RemoveAllExcept({"kept"});
  EXPECT_FALSE(fs::exists(dir_ / "gone.log"));
  EXPECT_FALSE(fs::exists(dir_ / "gone.log.1"));
  EXPECT_TRUE(fs::exists(dir_ / "kept.log"));
  EXPECT_TRUE(fs::exists(dir_ / "kept.log.1"));
}

TEST_F(LogStoreTest, KeepsEachLinesStreamAndTimeAndReadsItBackAsEvents) {
  LogStore logs(dir_, {.timestamp_lines = true});
  int64_t before = NowEpochMs();
  logs.Append("fn", "one\ntw", "2026/01/01/[$LATEST]aa");
  logs.Append("fn", "o\n", "2026/01/01/[$LATEST]aa");
  logs.Append("fn", "three\n", "2026/01/01/[$LATEST]bb");
  // The plain read is as before: the stream is the store's business.
  EXPECT_EQ(*logs.Read("fn", 0), "one\ntwo\nthree\n");
  EXPECT_TRUE(std::regex_match(*logs.Read("fn", 1, true), std::regex(R"(\d{4}-\d\d-\d\dT[\d:.]{12}Z three\n)")));
  auto events = *logs.Events("fn");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message, "one");
  EXPECT_EQ(events[1].message, "two");
  EXPECT_EQ(events[1].stream, "2026/01/01/[$LATEST]aa");
  EXPECT_EQ(events[2].stream, "2026/01/01/[$LATEST]bb");
  EXPECT_GE(events[0].timestamp, before);
  EXPECT_LE(events[2].timestamp, NowEpochMs());
  EXPECT_TRUE(logs.Events("fn", NowEpochMs() + 1000)->empty());
  auto streams = *logs.Streams("fn");
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].name, "2026/01/01/[$LATEST]aa");
  EXPECT_EQ(logs.Functions(), std::vector<std::string>{"fn"});
}

TEST_F(LogStoreTest, EventsSinceATimeReadOnlyTheEndOfALongLog) {
  LogStore logs(dir_, {.timestamp_lines = true});
  logs.Append("fn", Lines(1, 5000), "s");  // several read blocks
  logs.Flush();
  ::usleep(20'000);
  int64_t mid = NowEpochMs();
  logs.Append("fn", "late\n", "s");
  auto events = *logs.Events("fn", mid);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "late");
  EXPECT_EQ(logs.Events("fn", 0)->size(), 5001u);
}

TEST_F(LogStoreTest, RetentionDropsOlderLinesAndIsKeptAcrossARestart) {
  {
    LogStore logs(dir_, {.timestamp_lines = true, .enforce_every_ms = 1, .day_ms = 100});
    logs.Append("fn", "old\n", "s");
    logs.Append("other", "old too\n", "s");
    logs.Flush();
    logs.SetRetention("fn", 1);
    EXPECT_EQ(logs.Retention("fn"), 1);
  }
  LogStore logs(dir_, {.timestamp_lines = true, .enforce_every_ms = 1, .day_ms = 100});
  EXPECT_EQ(logs.Retention("fn"), 1);
  ::usleep(150'000);
  logs.Append("fn", "new\n", "s");
  logs.Flush();
  auto events = *logs.Events("fn");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "new");
  EXPECT_EQ(logs.Events("other")->size(), 1u);
  logs.SetRetention("fn", std::nullopt);
  EXPECT_EQ(logs.Retention("fn"), std::nullopt);
}

TEST_F(LogStoreTest, TheTotalCapRemovesTheOldestFilesFirst) {
  LogStore logs(dir_, {.max_bytes_per_function = 100'000, .timestamp_lines = true, .max_total_bytes = 60'000});
  logs.Append("old", Lines(1, 300), "s");  // ~33 KB
  logs.Flush();
  ::usleep(20'000);
  logs.Append("new", Lines(1, 300), "s");
  logs.Flush();
  EXPECT_LE(BytesOnDisk(dir_), 60'000);
  EXPECT_FALSE(fs::exists(dir_ / "old.log"));
  EXPECT_TRUE(fs::exists(dir_ / "new.log"));
}

}  // namespace
// A custom LogGroup maps onto the functions' own files: a data dir from before keeps every
// function in /aws/lambda/NAME, and the mapping survives a restart.
TEST_F(LogStoreTest, CustomGroupsMapToTheirFunctionsAndAreKeptAcrossARestart) {
  {
    LogStore logs(dir_);
    EXPECT_EQ(logs.GroupOf("a"), "/aws/lambda/a");
    EXPECT_EQ(logs.FunctionsOf("/aws/lambda/a"), std::vector<std::string>{"a"});
    logs.SetGroup("a", "/shared/app");
    logs.SetGroup("b", "/shared/app");
    logs.SetGroup("c", "/aws/lambda/c");  // the default, named: no entry
  }
  LogStore logs(dir_);
  EXPECT_EQ(logs.GroupOf("a"), "/shared/app");
  EXPECT_EQ(logs.FunctionsOf("/shared/app"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(logs.FunctionsOf("/aws/lambda/a").empty());
  EXPECT_EQ(logs.FunctionsOf("/aws/lambda/c"), std::vector<std::string>{"c"});
  EXPECT_TRUE(logs.FunctionsOf("/aws/lambda/../etc").empty());
  EXPECT_TRUE(logs.FunctionsOf("/elsewhere").empty());
  logs.SetGroup("a", "");
  EXPECT_EQ(logs.FunctionsOf("/aws/lambda/a"), std::vector<std::string>{"a"});
  // The daemon's start drops the entries of functions that are gone.
  logs.RemoveAllExcept({"a"});
  EXPECT_TRUE(logs.FunctionsOf("/shared/app").empty());
}

}  // namespace lambent::telemetry
