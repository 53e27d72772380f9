#include "metering/usage_series.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "metering/ledger.h"
#include "telemetry/report.h"

namespace lambent::metering {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1764547200000;  // 2025-12-01T00:00:00Z

telemetry::InvocationRecord Record(const std::string& function, int64_t end_ms, double duration_ms,
                                   std::string_view outcome = "success") {
  telemetry::InvocationRecord r;
  r.end_ms = end_ms;
  r.function = function;
  r.version = "$LATEST";
  r.request_id = "req-" + std::to_string(end_ms);
  r.source = "invoke";
  r.duration_ms = duration_ms;
  r.billed_ms = telemetry::BilledMs(duration_ms);
  r.memory_mb = 128;
  r.outcome = outcome;
  return r;
}

class UsageSeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("usage-series-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    auto opened = Ledger::Open(dir_ / "usage.db");
    ASSERT_TRUE(opened) << opened.error().message();
    ledger_ = std::move(*opened);
  }
  void TearDown() override {
    ledger_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(UsageSeriesTest, CountsInvocationsErrorsThrottlesAndPercentilesPerStep) {
  // Step 0: durations 1..100 ms, one failed; step 1: nothing; step 2: one 7 ms call.
  for (int i = 1; i <= 100; ++i) {
    ledger_->OnInvocation(Record("f", kT0 + i * 100, i - 0.5, i == 50 ? "error" : "success"));
  }
  ledger_->OnInvocation(Record("f", kT0 + 2 * 60'000 + 5, 6.2));
  ledger_->OnInvocation(Record("other", kT0 + 10, 999));
  ledger_->OnThrottle("f", "$LATEST", "ReservedFunctionConcurrentInvocationLimitExceeded");

  SeriesQuery query{.since_ms = kT0, .until_ms = kT0 + 3 * 60'000, .step_ms = 60'000, .function = "f"};
  auto points = ledger_->Series(query);
  ASSERT_TRUE(points) << points.error().message();
  ASSERT_EQ(points->size(), 3u);
  EXPECT_EQ((*points)[0].start_ms, kT0);
  EXPECT_EQ((*points)[0].invocations, 100);
  EXPECT_EQ((*points)[0].errors, 1);
  EXPECT_DOUBLE_EQ((*points)[0].p50_ms, 49.5);  // nearest rank: the 50th of 100
  EXPECT_DOUBLE_EQ((*points)[0].p99_ms, 98.5);
  EXPECT_EQ((*points)[1].start_ms, kT0 + 60'000);
  EXPECT_EQ((*points)[1].invocations, 0);
  EXPECT_DOUBLE_EQ((*points)[1].p50_ms, 0);
  EXPECT_EQ((*points)[2].invocations, 1);
  EXPECT_DOUBLE_EQ((*points)[2].p50_ms, 6.2);
  EXPECT_DOUBLE_EQ((*points)[2].p99_ms, 6.2);
  // The throttle was recorded now, far outside the window.
  EXPECT_EQ((*points)[0].throttles + (*points)[1].throttles + (*points)[2].throttles, 0);

  auto json = SeriesJson(query, *points);
  EXPECT_EQ(json["points"].size(), 3u);
  EXPECT_EQ(json["points"][0]["invocations"], 100);
  EXPECT_TRUE(json["points"][1]["p50_ms"].is_null());
  EXPECT_EQ(json["function"], "f");
}

TEST_F(UsageSeriesTest, RefusesTooManyStepsAndAnEmptyWindow) {
  EXPECT_FALSE(ledger_->Series({.since_ms = kT0, .until_ms = kT0 + 86'400'000, .step_ms = 1000}));
  EXPECT_FALSE(ledger_->Series({.since_ms = kT0, .until_ms = kT0, .step_ms = 60'000}));
  EXPECT_FALSE(ledger_->Series({.since_ms = kT0, .until_ms = kT0 + 60'000, .step_ms = 10}));
  EXPECT_TRUE(ledger_->Series({.since_ms = kT0, .until_ms = kT0 + 86'400'000, .step_ms = 60'000}));
}

TEST(UsageSeriesFile, ReadsAFileWrittenBeforeDurationsWereKeptWithTheirBilledDuration) {
  fs::path dir = fs::temp_directory_path() / ("usage-series-old-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path path = dir / "usage.db";
  {
    // The invocations table as the first ledger wrote it: no duration_ms.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* old =
        "CREATE TABLE invocations ("
        " time_ms INTEGER NOT NULL, function TEXT NOT NULL, version TEXT NOT NULL,"
        " request_id TEXT NOT NULL, source TEXT NOT NULL, billed_ms INTEGER NOT NULL,"
        " memory_mb INTEGER NOT NULL, init_ms REAL, init_billed_ms INTEGER NOT NULL,"
        " mb_ms INTEGER NOT NULL, gb_seconds REAL NOT NULL, provisioned INTEGER NOT NULL,"
        " outcome TEXT NOT NULL, error_type TEXT NOT NULL, trace_id TEXT NOT NULL);"
        "INSERT INTO invocations VALUES (1764547200100, 'f', '$LATEST', 'old', 'invoke', 12, 128,"
        " NULL, 0, 1536, 0.0015, 0, 'success', '', '');";
    ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    auto ledger = Ledger::Open(path);
    ASSERT_TRUE(ledger) << ledger.error().message();
    (*ledger)->OnInvocation(Record("f", kT0 + 200, 3.5));
    auto points = (*ledger)->Series({.since_ms = kT0, .until_ms = kT0 + 60'000, .step_ms = 60'000});
    ASSERT_TRUE(points) << points.error().message();
    ASSERT_EQ(points->size(), 1u);
    EXPECT_EQ((*points)[0].invocations, 2);
    EXPECT_DOUBLE_EQ((*points)[0].p50_ms, 3.5);
    EXPECT_DOUBLE_EQ((*points)[0].p99_ms, 12);
    auto totals = (*ledger)->Query({});
    ASSERT_TRUE(totals);
    EXPECT_EQ(totals->totals.requests, 2);
    EXPECT_EQ(totals->totals.billed_ms, 12 + 4);
  }
  // Opened again: the column is there already.
  EXPECT_TRUE(Ledger::Open(path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lambent::metering
