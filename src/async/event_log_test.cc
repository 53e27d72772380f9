#include "async/event_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace lambent::async {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

EventEntry Entry(const std::string& id, int64_t enqueued_ms, EventState state = EventState::kQueued,
                 const std::string& function = "f") {
  return EventEntry{id, function, "", state, 0, "", enqueued_ms, enqueued_ms};
}

std::vector<std::string> Ids(const std::vector<EventEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) out.push_back(entry.request_id);
  return out;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("lambent-EventLog-" + std::to_string(::getpid()) + "-" + test->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<EventLog> Open(EventLogOptions options = {}) {
    options.now_ms = [this] { return now_; };
    auto log = EventLog::Open(dir_ / "events.db", options);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }

  std::filesystem::path dir_;
  int64_t now_ = kStart;
};

TEST_F(EventLogTest, ListsNewestFirstFilteredByState) {
  auto log = Open();
  log->Record(Entry("a", kStart, EventState::kSucceeded));
  log->Record(Entry("b", kStart + 1, EventState::kFailed));
  log->Record(Entry("c", kStart + 2, EventState::kSucceeded));
  log->Record(Entry("x", kStart + 3, EventState::kSucceeded, "other"));
  EXPECT_EQ(Ids(log->List("f", std::nullopt, 10)), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(Ids(log->List("f", EventState::kSucceeded, 10)), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(Ids(log->List("f", std::nullopt, 1)), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(log->List("nobody", std::nullopt, 10).empty());
}

TEST_F(EventLogTest, AChangeReplacesTheEventInPlace) {
  auto log = Open();
  log->Record(Entry("a", kStart));
  log->Record(Entry("b", kStart + 1));
  EventEntry failed = Entry("a", kStart, EventState::kRetrying);
  failed.attempts = 1;
  failed.last_error = "boom";
  log->Record(failed);
  auto listed = log->List("f", std::nullopt, 10);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1], failed);
}

TEST_F(EventLogTest, KeepsTheNewestEventsPerFunctionAndNoneTooOld) {
  auto log = Open({.max_per_function = 3, .max_age_ms = 60'000});
  for (int i = 0; i < 5; ++i) log->Record(Entry(std::to_string(i), kStart + i));
  log->Record(Entry("g", kStart, EventState::kQueued, "g"));
  EXPECT_EQ(Ids(log->List("f", std::nullopt, 10)), (std::vector<std::string>{"4", "3", "2"}));
  now_ = kStart + 60'003;  // "2" and "g" are now too old; "3" and "4" not yet
  EXPECT_EQ(Ids(log->List("f", std::nullopt, 10)), (std::vector<std::string>{"4", "3"}));
  EXPECT_TRUE(log->List("g", std::nullopt, 10).empty());
}

TEST_F(EventLogTest, SurvivesAReopenWithRetentionApplied) {
  {
    auto log = Open();
    for (int i = 0; i < 5; ++i) log->Record(Entry(std::to_string(i), kStart + i));
    EventEntry done = Entry("1", kStart + 1, EventState::kSucceeded);
    done.attempts = 2;
    done.last_error = "attempt 1 failed";
    log->Record(done);
    log->Record(Entry("gone", kStart, EventState::kQueued, "deleted"));
    log->Forget("deleted");
  }  // the destructor writes what is pending
  {
    auto log = Open({.max_per_function = 2});
    auto listed = log->List("f", std::nullopt, 10);
    EXPECT_EQ(Ids(listed), (std::vector<std::string>{"4", "3"}));
    EXPECT_TRUE(log->List("deleted", std::nullopt, 10).empty());
  }
  auto log = Open();
  // The reopen with the smaller bound deleted the rest from the file as well.
  EXPECT_EQ(Ids(log->List("f", std::nullopt, 10)), (std::vector<std::string>{"4", "3"}));
}

TEST_F(EventLogTest, FlushWritesWhatWasRecorded) {
  auto log = Open({.flush_interval_ms = 60'000});
  EventEntry entry = Entry("a", kStart, EventState::kSucceeded);
  entry.attempts = 3;
  entry.last_error = "x";
  log->Record(entry);
  log->Flush();
  auto again = Open();
  auto listed = again->List("f", std::nullopt, 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], entry);
}

TEST_F(EventLogTest, TellsWhenAChangeIsWritten) {
  auto log = Open({.flush_interval_ms = 60'000});
  std::vector<std::function<void()>> posted;
  Poster post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); };
  int written = 0;
  log->Record(Entry("a", kStart, EventState::kSucceeded), post, [&] { ++written; });
  EXPECT_TRUE(posted.empty());  // not before the disk has it
  log->Flush();
  ASSERT_EQ(posted.size(), 1u);
  posted[0]();
  EXPECT_EQ(written, 1);
  EXPECT_EQ(Open()->List("f", std::nullopt, 10).size(), 1u);

  auto memory = EventLog::Open("");
  ASSERT_TRUE(memory);
  (*memory)->Record(Entry("b", kStart), post, [&] { ++written; });
  ASSERT_EQ(posted.size(), 2u);  // nothing to wait for
  posted[1]();
  EXPECT_EQ(written, 2);
}

TEST(EventStateTest, NamesRoundTrip) {
  for (auto state : {EventState::kQueued, EventState::kRunning, EventState::kRetrying,
                     EventState::kSucceeded, EventState::kFailed, EventState::kExpired}) {
    EXPECT_EQ(ParseEventState(EventStateName(state)), state);
  }
  EXPECT_FALSE(ParseEventState("done"));
}

}  // namespace
}  // namespace lambent::async
