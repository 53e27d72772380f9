#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "async/sqlite_queue_engine.h"
#include "base/clock.h"

namespace lambent::async {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kStart = 1'700'000'000'000;

class QueueEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lambent-queue-engine-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }

  // Opens the engine on the test's directory with the test's clock.
  void Open(SqliteQueueEngineOptions options = {}) {
    engine_.reset();
    if (!options.now_ms) options.now_ms = [this] { return now_.load(); };
    options.max_timer_wait = 5ms;
    auto engine = SqliteQueueEngine::Open(dir_, std::move(options));
    ASSERT_TRUE(engine) << engine.error().message();
    engine_ = std::move(*engine);
  }

  void Create(const std::string& name, QueueOptions options = {}) {
    auto ok = engine_->CreateQueue(name, options);
    ASSERT_TRUE(ok) << ok.error().message();
  }

  // Appends and waits until the batch is durable; returns the ids.
  std::vector<std::string> AppendDurably(const std::string& queue,
                                         std::vector<NewMessage> messages) {
    std::promise<Result<void>> durable;
    auto ids =
        engine_->Append(queue, std::move(messages),
                        {nullptr, [&durable](Result<void> result) { durable.set_value(result); }});
    EXPECT_TRUE(ids) << ids.error().message();
    if (!ids) return {};
    Result<void> result = durable.get_future().get();
    EXPECT_TRUE(result) << result.error().message();
    return *ids;
  }
  std::string AppendDurably(const std::string& queue, std::string body, int64_t delay_ms = -1) {
    NewMessage message;
    message.body = std::move(body);
    message.delay_ms = delay_ms;
    auto ids = AppendDurably(queue, std::vector<NewMessage>{std::move(message)});
    return ids.empty() ? "" : ids[0];
  }

  std::vector<LeasedMessage> Lease(const std::string& queue, int n = 10, int64_t timeout_ms = -1) {
    auto leased = engine_->Lease(queue, n, timeout_ms);
    EXPECT_TRUE(leased) << leased.error().message();
    return leased ? *leased : std::vector<LeasedMessage>{};
  }

  QueueStats Stats(const std::string& queue) {
    auto stats = engine_->Stats(queue);
    EXPECT_TRUE(stats) << stats.error().message();
    return stats ? *stats : QueueStats{};
  }

  void Flush() {
    std::promise<void> done;
    engine_->Flush({nullptr, [&done](Result<void>) { done.set_value(); }});
    done.get_future().get();
  }

  // Rows in the journal's messages table, read through a connection of its own as another
  // process would.
  int64_t RowsOnDisk() {
    sqlite3* db = nullptr;
    int64_t rows = -1;
    if (sqlite3_open_v2((dir_ / QueueJournal::kFileName).c_str(), &db, SQLITE_OPEN_READONLY,
                        nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &stmt, nullptr) ==
              SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        rows = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return rows;
  }

  fs::path dir_;
  std::atomic<int64_t> now_{kStart};
  std::unique_ptr<SqliteQueueEngine> engine_;
};

TEST_F(QueueEngineTest, AnAppendedMessageIsLeasedOnceAndGoneWhenAcknowledged) {
  Open();
  Create("q");
  NewMessage message;
  message.body = std::string("payload\0with a zero byte", 24);
  message.attributes = R"({"RequestID":"r-1"})";
  message.id = "my-request-id";
  AppendDurably("q", std::vector<NewMessage>{message});

  auto leased = Lease("q");
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].message.id, "my-request-id");
  EXPECT_EQ(leased[0].message.body, message.body);
  EXPECT_EQ(leased[0].message.attributes, message.attributes);
  EXPECT_EQ(leased[0].message.receive_count, 1);
  EXPECT_EQ(leased[0].message.enqueued_ms, kStart);
  EXPECT_EQ(leased[0].message.first_receive_ms, kStart);
  EXPECT_EQ(leased[0].visible_again_ms, kStart + 30'000);
  EXPECT_TRUE(Lease("q").empty()) << "a leased message is not handed out twice";

  ASSERT_TRUE(engine_->Ack("q", leased[0].receipt));
  now_ += 60'000;
  EXPECT_TRUE(Lease("q").empty());
  Flush();
  EXPECT_EQ(RowsOnDisk(), 0);
}

TEST_F(QueueEngineTest, AnEngineMadeIdIsAUuidAndBatchesKeepTheirOrder) {
  Open();
  Create("q");
  std::vector<NewMessage> batch(3);
  for (int i = 0; i < 3; ++i) batch[i].body = std::to_string(i);
  auto ids = AppendDurably("q", batch);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0].size(), 36u);
  EXPECT_NE(ids[0], ids[1]);
  auto leased = Lease("q", 10);
  ASSERT_EQ(leased.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(leased[i].message.body, std::to_string(i));
    EXPECT_EQ(leased[i].message.id, ids[i]);
  }
}

TEST_F(QueueEngineTest, ALeaseThatTimesOutRedeliversWithReceiveCountTwoAndANewReceipt) {
  Open();
  Create("q", {.visibility_timeout_ms = 10'000});
  AppendDurably("q", "m");
  auto first = Lease("q");
  ASSERT_EQ(first.size(), 1u);
  now_ += 9'999;
  EXPECT_TRUE(Lease("q").empty());
  now_ += 1;
  auto second = Lease("q");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message.id, first[0].message.id);
  EXPECT_EQ(second[0].message.receive_count, 2);
  EXPECT_EQ(second[0].message.first_receive_ms, kStart);
  EXPECT_NE(second[0].receipt, first[0].receipt);
}

TEST_F(QueueEngineTest, AStaleOrMalformedReceiptIsRefused) {
  Open();
  Create("q", {.visibility_timeout_ms = 1'000});
  AppendDurably("q", "m");
  auto first = Lease("q");
  ASSERT_EQ(first.size(), 1u);
  now_ += 1'000;
  auto second = Lease("q");
  ASSERT_EQ(second.size(), 1u);

  auto stale = engine_->Ack("q", first[0].receipt);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_->Retry("q", first[0].receipt, 0).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(engine_->ChangeVisibility("q", first[0].receipt, 0).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(engine_->Ack("q", "not a receipt").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->Ack("nope", second[0].receipt).error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(engine_->Ack("q", second[0].receipt));
  EXPECT_EQ(engine_->Ack("q", second[0].receipt).error().code(), ErrorCode::kNotFound);
}

TEST_F(QueueEngineTest, ARetryHidesTheMessageForItsDelayThenDeliversItAgain) {
  Open();
  Create("q");
  AppendDurably("q", "m");
  auto first = Lease("q");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(engine_->Retry("q", first[0].receipt, 60'000));
  EXPECT_EQ(Stats("q").delayed, 1);
  EXPECT_EQ(Stats("q").in_flight, 0);
  EXPECT_EQ(engine_->Ack("q", first[0].receipt).error().code(), ErrorCode::kNotFound)
      << "a retry ends the lease";
  now_ += 59'999;
  EXPECT_TRUE(Lease("q").empty());
  now_ += 1;
  auto second = Lease("q");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message.receive_count, 2);
}

TEST_F(QueueEngineTest, ChangeVisibilityExtendsALeaseOrEndsItAtZero) {
  Open();
  Create("q", {.visibility_timeout_ms = 1'000});
  AppendDurably("q", "m");
  auto first = Lease("q");
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(engine_->ChangeVisibility("q", first[0].receipt, 5'000));
  now_ += 4'999;
  EXPECT_TRUE(Lease("q").empty());
  ASSERT_TRUE(engine_->ChangeVisibility("q", first[0].receipt, 0)) << "the receipt is still valid";
  auto second = Lease("q");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message.receive_count, 2);
  EXPECT_EQ(engine_->ChangeVisibility("q", second[0].receipt, -1).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(QueueEngineTest,
       AMessageReceivedMaxReceiveCountTimesMovesToTheDeadLetterQueueAtTheNextLease) {
  Open();
  Create("dlq");
  Create("q", {.visibility_timeout_ms = 1'000, .max_receive_count = 2, .dead_letter_queue = "dlq"});
  std::string id = AppendDurably("q", "poison");
  for (int i = 1; i <= 2; ++i) {
    auto leased = Lease("q");
    ASSERT_EQ(leased.size(), 1u) << "receive " << i;
    EXPECT_EQ(leased[0].message.receive_count, i);
    now_ += 1'000;
  }
  EXPECT_TRUE(Lease("q").empty());
  EXPECT_EQ(Stats("q").visible + Stats("q").in_flight, 0);
  auto dead = Lease("dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message.id, id) << "the id survives redrive";
  EXPECT_EQ(dead[0].message.body, "poison");
  EXPECT_EQ(dead[0].message.enqueued_ms, kStart);
  EXPECT_EQ(dead[0].message.receive_count, 1);
}

TEST_F(QueueEngineTest, MessagesOlderThanTheRetentionAreDropped) {
  Open();
  Create("q", {.retention_ms = 60'000});
  AppendDurably("q", "old");
  now_ += 30'000;
  AppendDurably("q", "young");
  auto leased = Lease("q", 1, 0);  // a zero timeout: visible again at once
  ASSERT_EQ(leased.size(), 1u);
  now_ += 30'000;
  EXPECT_EQ(Stats("q").visible, 1);
  EXPECT_EQ(Stats("q").oldest_age_ms, 30'000);
  leased = Lease("q");
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].message.body, "young");
  Flush();
  EXPECT_EQ(RowsOnDisk(), 1);
}

TEST_F(QueueEngineTest, PurgeDropsEveryMessageIncludingAppendsNotYetDurable) {
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool gate_open = true;
  SqliteQueueEngineOptions options;
  options.before_commit = [&] {
    std::unique_lock lock(gate_mutex);
    gate_cv.wait(lock, [&] { return gate_open; });
  };
  Open(std::move(options));
  Create("q");
  AppendDurably("q", "a");
  AppendDurably("q", "b");
  ASSERT_EQ(Lease("q", 1).size(), 1u);

  {
    std::lock_guard lock(gate_mutex);
    gate_open = false;
  }
  std::promise<Result<void>> durable;
  ASSERT_TRUE(engine_->Append("q", {NewMessage{.body = "c"}},
                              {nullptr, [&](Result<void> result) { durable.set_value(result); }}));
  ASSERT_TRUE(engine_->Purge("q"));
  {
    std::lock_guard lock(gate_mutex);
    gate_open = true;
  }
  gate_cv.notify_all();
  EXPECT_TRUE(durable.get_future().get());
  Flush();
  EXPECT_TRUE(Lease("q").empty());
  EXPECT_EQ(Stats("q").visible + Stats("q").in_flight + Stats("q").delayed, 0);
  EXPECT_EQ(RowsOnDisk(), 0);
  AppendDurably("q", "after");
  EXPECT_EQ(Lease("q").size(), 1u);
  engine_->Close();  // while the gate it commits through is still alive
}

TEST_F(QueueEngineTest, StatsCountVisibleInFlightDelayedAndTheOldestAge) {
  Open();
  Create("q");
  EXPECT_EQ(Stats("q").oldest_age_ms, 0);
  AppendDurably("q", "leased");
  now_ += 1'000;
  AppendDurably("q", "visible-1");
  AppendDurably("q", "visible-2");
  AppendDurably("q", "delayed", 5'000);
  ASSERT_EQ(Lease("q", 1).size(), 1u);
  now_ += 500;
  QueueStats stats = Stats("q");
  EXPECT_EQ(stats.visible, 2);
  EXPECT_EQ(stats.in_flight, 1);
  EXPECT_EQ(stats.delayed, 1);
  EXPECT_EQ(stats.oldest_age_ms, 1'500);
  now_ += 5'000;
  EXPECT_EQ(Stats("q").visible, 3);
  EXPECT_EQ(Stats("q").delayed, 0);
  EXPECT_EQ(engine_->Stats("nope").error().code(), ErrorCode::kNotFound);
}

TEST_F(QueueEngineTest, AnAppendIsToldAndLeasableOnlyAfterItsCommit) {
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool gate_open = false;
  std::atomic<int> commits_started{0};
  SqliteQueueEngineOptions options;
  options.before_commit = [&] {
    commits_started++;
    std::unique_lock lock(gate_mutex);
    gate_cv.wait(lock, [&] { return gate_open; });
  };
  Open(std::move(options));
  Create("q");

  std::atomic<bool> told{false};
  std::promise<int64_t> rows_when_told;
  auto ids =
      engine_->Append("q", {NewMessage{.body = "m"}}, {nullptr, [&](Result<void> result) {
                                                         EXPECT_TRUE(result);
                                                         told = true;
                                                         rows_when_told.set_value(RowsOnDisk());
                                                       }});
  ASSERT_TRUE(ids);
  while (commits_started == 0) std::this_thread::yield();
  EXPECT_FALSE(told);
  EXPECT_TRUE(Lease("q").empty()) << "not durable yet, so not leasable";
  EXPECT_EQ(RowsOnDisk(), 0);
  {
    std::lock_guard lock(gate_mutex);
    gate_open = true;
  }
  gate_cv.notify_all();
  EXPECT_EQ(rows_when_told.get_future().get(), 1)
      << "the row is in the file when the producer is told";
  EXPECT_EQ(Lease("q").size(), 1u);
  engine_->Close();  // while the gate it commits through is still alive
}

TEST_F(QueueEngineTest, AnAppendWhoseCommitFailsIsReportedAndNeverDelivered) {
  std::atomic<bool> break_the_file{false};
  SqliteQueueEngineOptions options;
  options.before_commit = [&] {
    if (!break_the_file.exchange(false)) return;
    // Another writer drops the table under the engine: its next statement fails.
    sqlite3* db = nullptr;
    sqlite3_open((dir_ / QueueJournal::kFileName).c_str(), &db);
    int rc = sqlite3_exec(db, "DROP TABLE messages", nullptr, nullptr, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  Open(std::move(options));
  Create("q");
  AppendDurably("q", "kept");
  ASSERT_EQ(Lease("q", 10, 0).size(), 1u);
  Flush();

  break_the_file = true;
  std::promise<Result<void>> durable;
  ASSERT_TRUE(engine_->Append("q", {NewMessage{.body = "doomed"}},
                              {nullptr, [&](Result<void> result) { durable.set_value(result); }}));
  Result<void> result = durable.get_future().get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kSystem);
  auto leased = Lease("q");
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].message.body, "kept");
  ASSERT_TRUE(engine_->Ack("q", leased[0].receipt));
  // The ack cannot be committed either (the table is gone for good); closing gives up on it
  // rather than hanging.
  engine_->Close();
}

TEST_F(QueueEngineTest, CompletionsAndWatchesRunThroughTheCallersPoster) {
  Open();
  Create("q");
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> posted;
  Poster post = [&](std::function<void()> fn) {
    std::lock_guard lock(mutex);
    posted.push_back(std::move(fn));
    cv.notify_all();
  };
  auto run_one = [&] {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return !posted.empty(); });
    auto fn = std::move(posted.front());
    posted.pop_front();
    lock.unlock();
    fn();
  };
  const auto test_thread = std::this_thread::get_id();
  bool woke = false, done = false;
  ASSERT_TRUE(engine_->WatchVisible("q", post, [&] {
    EXPECT_EQ(std::this_thread::get_id(), test_thread);
    woke = true;
  }));
  ASSERT_TRUE(engine_->Append("q", {NewMessage{.body = "m"}},
                              {post, [&](Result<void> result) {
                                 EXPECT_TRUE(result);
                                 EXPECT_EQ(std::this_thread::get_id(), test_thread);
                                 done = true;
                               }}));
  run_one();
  run_one();
  EXPECT_TRUE(woke);
  EXPECT_TRUE(done);
}

TEST_F(QueueEngineTest, AWatchFiresWhenADelayEndsAndNotAfterItIsCancelled) {
  Open();
  Create("q");
  AppendDurably("q", "later", 10'000);
  std::promise<void> fired;
  ASSERT_TRUE(engine_->WatchVisible("q", nullptr, [&] { fired.set_value(); }));
  std::atomic<int> cancelled_fired{0};
  auto cancelled = engine_->WatchVisible("q", nullptr, [&] { cancelled_fired++; });
  ASSERT_TRUE(cancelled);
  engine_->CancelWatch(*cancelled);
  auto future = fired.get_future();
  EXPECT_EQ(future.wait_for(50ms), std::future_status::timeout);
  now_ += 10'000;
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(cancelled_fired, 0);
  EXPECT_EQ(Lease("q").size(), 1u);

  // A queue with a visible message fires a new watch at once.
  AppendDurably("q", "now");
  bool at_once = false;
  ASSERT_TRUE(engine_->WatchVisible("q", nullptr, [&] { at_once = true; }));
  EXPECT_TRUE(at_once);
}

TEST_F(QueueEngineTest, AfterReopenAcknowledgedMessagesStayGoneAndTheRestComeBackVisible) {
  Open();
  Create("dlq");
  Create("q", {.visibility_timeout_ms = 1'000,
               .max_receive_count = 3,
               .dead_letter_queue = "dlq",
               .metadata = R"({"CreatedTimestamp":"1700000000"})"});
  AppendDurably("q", "acked");
  AppendDurably("q", "leased");
  AppendDurably("q", "retried");
  AppendDurably("q", "untouched");
  auto leased = Lease("q", 3, 600'000);
  ASSERT_EQ(leased.size(), 3u);
  ASSERT_TRUE(engine_->Ack("q", leased[0].receipt));
  ASSERT_TRUE(engine_->Retry("q", leased[2].receipt, 60'000));
  engine_->Close();

  Open();
  EXPECT_EQ(engine_->ListQueues(), (std::vector<std::string>{"dlq", "q"}));
  auto options = engine_->GetQueueOptions("q");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->max_receive_count, 3);
  EXPECT_EQ(options->dead_letter_queue, "dlq");
  EXPECT_EQ(options->metadata, R"({"CreatedTimestamp":"1700000000"})");
  QueueStats stats = Stats("q");
  EXPECT_EQ(stats.visible, 2) << "the lease did not survive: visible again";
  EXPECT_EQ(stats.delayed, 1) << "the retry's delay did";
  auto again = Lease("q", 10, 600'000);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].message.body, "leased");
  EXPECT_EQ(again[0].message.receive_count, 2) << "the receive count was journaled";
  EXPECT_EQ(again[1].message.body, "untouched");
  EXPECT_EQ(again[1].message.receive_count, 1);
  now_ += 60'000;
  auto retried = Lease("q");
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].message.body, "retried");

  // New appends get new seqs: nothing collides with what was loaded.
  AppendDurably("q", "new");
  now_ += 600'000;
  EXPECT_EQ(Lease("q").size(), 4u);
}

TEST_F(QueueEngineTest, DeletedQueuesAndTheirMessagesStayDeletedAfterReopen) {
  Open();
  Create("gone");
  Create("kept");
  AppendDurably("gone", "x");
  AppendDurably("kept", "y");
  ASSERT_TRUE(engine_->DeleteQueue("gone"));
  EXPECT_EQ(engine_->DeleteQueue("gone").error().code(), ErrorCode::kNotFound);
  engine_->Close();
  Open();
  EXPECT_EQ(engine_->ListQueues(), std::vector<std::string>{"kept"});
  EXPECT_EQ(Lease("kept").size(), 1u);
  EXPECT_EQ(RowsOnDisk(), 1);
}

TEST_F(QueueEngineTest, DeletingAQueueWakesItsWatchersAndARedriveSurvivesReopen) {
  Open();
  Create("dlq");
  Create("q", {.visibility_timeout_ms = 1'000, .max_receive_count = 1, .dead_letter_queue = "dlq"});
  AppendDurably("q", "poison");
  ASSERT_EQ(Lease("q").size(), 1u);
  now_ += 1'000;
  EXPECT_TRUE(Lease("q").empty());  // moved
  Flush();
  engine_->Close();

  Open();
  EXPECT_EQ(Stats("q").visible, 0);
  EXPECT_EQ(Stats("dlq").visible, 1);
  bool woke = false;
  ASSERT_TRUE(engine_->WatchVisible("q", nullptr, [&] { woke = true; }));
  EXPECT_FALSE(woke);
  ASSERT_TRUE(engine_->DeleteQueue("q"));
  EXPECT_TRUE(woke) << "a long poll on a deleted queue ends";
  EXPECT_EQ(engine_->Lease("q", 1).error().code(), ErrorCode::kNotFound);
}

TEST_F(QueueEngineTest, QueueOptionsAreValidatedAndCreateIsIdempotent) {
  Open();
  EXPECT_EQ(engine_->CreateQueue("", {}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->CreateQueue("q", {.delay_ms = -1}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->CreateQueue("q", {.dead_letter_queue = "q"}).error().code(),
            ErrorCode::kInvalidArgument);
  Create("q", {.visibility_timeout_ms = 5'000});
  EXPECT_TRUE(engine_->CreateQueue("q", {.visibility_timeout_ms = 5'000}));
  EXPECT_EQ(engine_->CreateQueue("q", {}).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(engine_->SetQueueOptions("q", {.visibility_timeout_ms = 7'000}));
  EXPECT_EQ(engine_->GetQueueOptions("q")->visibility_timeout_ms, 7'000);
  EXPECT_EQ(engine_->Append("nope", {NewMessage{}}, {}).error().code(), ErrorCode::kNotFound);
}

// The durability promise: once an append's completion has run, SIGKILL cannot lose it.
TEST_F(QueueEngineTest, EveryAppendToldDurableSurvivesASigkillWithoutClose) {
  constexpr int kMessages = 1000;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto engine = SqliteQueueEngine::Open(dir_);
    if (!engine || !(*engine)->CreateQueue("q", {})) ::_exit(2);
    std::mutex mutex;
    std::condition_variable cv;
    int durable = 0;
    for (int i = 0; i < kMessages; ++i) {
      auto ids = (*engine)->Append("q", {NewMessage{.body = std::to_string(i)}},
                                   {nullptr, [&](Result<void> r) {
                                      if (!r) ::_exit(3);
                                      std::lock_guard lock(mutex);
                                      ++durable;
                                      cv.notify_all();
                                    }});
      if (!ids) ::_exit(4);
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return durable == kMessages; });
    ::raise(SIGKILL);
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  Open(SqliteQueueEngineOptions{.now_ms = [] { return int64_t(NowEpochMs()); }});
  std::set<std::string> bodies;
  for (;;) {
    auto leased = Lease("q", 100);
    if (leased.empty()) break;
    for (auto& m : leased) bodies.insert(m.message.body);
  }
  EXPECT_EQ(bodies.size(), size_t(kMessages));
}

// SIGKILL at an arbitrary instant while appends, leases and acks are in full swing: every
// append the child was told is durable is there after restart, unless the child acked it.
TEST_F(QueueEngineTest, AKillInTheMiddleOfTrafficLosesNoAppendToldDurable) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto engine = SqliteQueueEngine::Open(dir_);
    if (!engine || !(*engine)->CreateQueue("q", {})) ::_exit(2);
    std::thread consumer([&] {
      for (;;) {
        auto leased = (*engine)->Lease("q", 10);
        if (!leased) ::_exit(6);
        for (auto& m : *leased) {
          // Odd ones are acknowledged: the parent must not expect those back.
          if (std::stoi(m.message.body) % 2 == 1) (void)(*engine)->Ack("q", m.receipt);
        }
      }
    });
    for (int i = 0;; ++i) {
      std::string body = std::to_string(i);
      (void)(*engine)->Append("q", {NewMessage{.body = body}},
                              {nullptr, [fd = pipe_fds[1], body](Result<void> r) {
                                 if (!r) return;
                                 std::string line = body + "\n";
                                 (void)!::write(fd, line.data(), line.size());
                               }});
      if (i % 64 == 0) std::this_thread::sleep_for(1ms);
    }
  }
  ::close(pipe_fds[1]);
  std::set<int> told;
  std::string buffer;
  char chunk[4096];
  bool killed = false;
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, size_t(n));
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      told.insert(std::stoi(buffer.substr(0, newline)));
      buffer.erase(0, newline + 1);
    }
    if (!killed && told.size() >= 3000) {
      ::kill(child, SIGKILL);
      killed = true;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  Open(SqliteQueueEngineOptions{.now_ms = [] { return int64_t(NowEpochMs()); }});
  std::set<int> found;
  for (;;) {
    auto leased = Lease("q", 100);
    if (leased.empty()) break;
    for (auto& m : leased) found.insert(std::stoi(m.message.body));
  }
  size_t even_told = 0;
  for (int i : told) {
    if (i % 2 == 0) {
      ++even_told;
      EXPECT_TRUE(found.contains(i)) << "lost " << i;
    }
  }
  EXPECT_GE(even_told, 1000u);
}

TEST_F(QueueEngineTest, AppendsFromSeveralThreadsAreEachDeliveredOnceToAConcurrentConsumer) {
  Open(SqliteQueueEngineOptions{.now_ms = [] { return int64_t(NowEpochMs()); }});
  Create("q");
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::thread> producers;
  std::atomic<int> durable{0};
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread;) {
        // Mixed batch sizes: 1 to 10.
        int n = std::min(1 + i % 10, kPerThread - i);
        std::vector<NewMessage> batch(static_cast<size_t>(n));
        for (int k = 0; k < n; ++k) batch[size_t(k)].body = std::to_string(t * kPerThread + i + k);
        auto ids = engine_->Append("q", std::move(batch), {nullptr, [&durable, n](Result<void> r) {
                                                             EXPECT_TRUE(r);
                                                             durable += n;
                                                           }});
        ASSERT_TRUE(ids);
        i += n;
      }
    });
  }
  std::multiset<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (seen.size() < size_t(kThreads * kPerThread) &&
         std::chrono::steady_clock::now() < deadline) {
    auto leased = engine_->Lease("q", 10);
    ASSERT_TRUE(leased);
    if (leased->empty()) {
      std::promise<void> woke;
      auto watch = engine_->WatchVisible("q", nullptr, [&woke] { woke.set_value(); });
      ASSERT_TRUE(watch);
      woke.get_future().wait_for(1s);
      engine_->CancelWatch(*watch);
      continue;
    }
    for (auto& m : *leased) {
      seen.insert(m.message.body);
      ASSERT_TRUE(engine_->Ack("q", m.receipt));
    }
  }
  for (auto& p : producers) p.join();
  EXPECT_EQ(seen.size(), size_t(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "none twice";
  Flush();
  EXPECT_EQ(durable.load(), kThreads * kPerThread);
  EXPECT_EQ(RowsOnDisk(), 0);
}

NewMessage InGroup(std::string body, std::string group, std::string dedup = {}) {
  NewMessage message;
  message.body = std::move(body);
  message.group_id = std::move(group);
  message.dedup_id = std::move(dedup);
  return message;
}

std::vector<std::string> Bodies(const std::vector<LeasedMessage>& leased) {
  std::vector<std::string> bodies;
  for (const auto& m : leased) bodies.push_back(m.message.body);
  return bodies;
}

TEST_F(QueueEngineTest, FifoHandsOutAGroupInOrderOneBatchAtATime) {
  Open();
  Create("f.fifo", {.fifo = true});
  AppendDurably("f.fifo", {InGroup("a1", "a"), InGroup("b1", "b"), InGroup("a2", "a"), InGroup("a3", "a")});
  auto first = Lease("f.fifo", 2);
  EXPECT_EQ(Bodies(first), (std::vector<std::string>{"a1", "a2"})) << "a group's messages go together, in order";
  auto second = Lease("f.fifo", 10);
  EXPECT_EQ(Bodies(second), (std::vector<std::string>{"b1"})) << "group a waits while a1 and a2 are leased";
  ASSERT_TRUE(engine_->Ack("f.fifo", first[0].receipt));
  EXPECT_TRUE(Lease("f.fifo", 10).empty()) << "a2 is still leased";
  ASSERT_TRUE(engine_->Ack("f.fifo", first[1].receipt));
  EXPECT_EQ(Bodies(Lease("f.fifo", 10)), (std::vector<std::string>{"a3"}));
  EXPECT_GT(first[1].message.seq, first[0].message.seq);
}

TEST_F(QueueEngineTest, FifoRedeliversAFailedMessageBeforeTheRestOfItsGroup) {
  Open();
  Create("f.fifo", {.visibility_timeout_ms = 1'000, .fifo = true});
  AppendDurably("f.fifo", {InGroup("a1", "a"), InGroup("a2", "a")});
  auto leased = Lease("f.fifo", 1);
  ASSERT_EQ(Bodies(leased), (std::vector<std::string>{"a1"}));
  EXPECT_TRUE(Lease("f.fifo", 10).empty());
  now_ += 1'000;  // the lease ends without an ack
  auto again = Lease("f.fifo", 1);
  ASSERT_EQ(Bodies(again), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(again[0].message.receive_count, 2);
  ASSERT_TRUE(engine_->Retry("f.fifo", again[0].receipt, 500));
  EXPECT_TRUE(Lease("f.fifo", 10).empty()) << "a2 waits behind a1's retry";
  now_ += 500;
  EXPECT_EQ(Bodies(Lease("f.fifo", 10)), (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(QueueEngineTest, FifoDeduplicatesWithinFiveMinutesAcrossARestart) {
  Open();
  Create("f.fifo", {.fifo = true});
  auto first = AppendDurably("f.fifo", {InGroup("x", "g", "d1")});
  auto again = AppendDurably("f.fifo", {InGroup("x again", "g", "d1"), InGroup("y", "g", "d2")});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0], first[0]) << "a duplicate gets the original's id";
  Open();  // a restart keeps the window of what is still queued
  auto after = AppendDurably("f.fifo", {InGroup("x", "g", "d1")});
  EXPECT_EQ(after[0], first[0]);
  EXPECT_EQ(Bodies(Lease("f.fifo", 10)), (std::vector<std::string>{"x", "y"}));
  now_ += QueueState::kDedupWindowMs;
  auto late = AppendDurably("f.fifo", {InGroup("x", "g", "d1")});
  EXPECT_NE(late[0], first[0]) << "past the window it is a new message";
}

TEST_F(QueueEngineTest, FifoMessagesNeedAGroupAndTheSettingIsFixed) {
  Open();
  Create("f.fifo", {.fifo = true});
  NewMessage plain;
  plain.body = "x";
  EXPECT_EQ(engine_->Append("f.fifo", {plain}, {}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->SetQueueOptions("f.fifo", {}).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace lambent::async
