#include "metering/usage_query.h"

#include <gtest/gtest.h>

namespace lambent::metering {
namespace {

constexpr int64_t kNow = 1764590400000;  // 2025-12-01T12:00:00Z

TEST(UsageTime, ReadsEpochMillisecondsDatesDateTimesAndAges) {
  EXPECT_EQ(*ParseUsageTime("1764547200000", kNow), 1764547200000);
  EXPECT_EQ(*ParseUsageTime("2025-12-01", kNow), 1764547200000);
  EXPECT_EQ(*ParseUsageTime("2025-12-01T12:00", kNow), kNow);
  EXPECT_EQ(*ParseUsageTime("2025-12-01T12:00:00Z", kNow), kNow);
  EXPECT_EQ(*ParseUsageTime("2025-12-01 12:00:01.250", kNow), kNow + 1250);
  EXPECT_EQ(*ParseUsageTime("90s", kNow), kNow - 90'000);
  EXPECT_EQ(*ParseUsageTime("15m", kNow), kNow - 900'000);
  EXPECT_EQ(*ParseUsageTime("2h", kNow), kNow - 7'200'000);
  EXPECT_EQ(*ParseUsageTime("7d", kNow), kNow - 7 * 86'400'000);
}

TEST(UsageTime, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "yesterday", "2025-13-01", "2025-12-01T25:00", "12x", "2025-12-1",
                          "-5h", "2025-12-01T12:00:00.5"}) {
    auto parsed = ParseUsageTime(bad, kNow);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(UsageGrouping, NamesDayFunctionAndVersion) {
  EXPECT_EQ(*ParseGrouping(""), UsageGrouping::kTotal);
  EXPECT_EQ(*ParseGrouping("day"), UsageGrouping::kDay);
  EXPECT_EQ(*ParseGrouping("function"), UsageGrouping::kFunction);
  EXPECT_EQ(*ParseGrouping("version"), UsageGrouping::kVersion);
  EXPECT_FALSE(ParseGrouping("hour"));
}

TEST(UsageJson, GivesEachGroupAndTheTotalsWithGbSecondsAndCost) {
  UsageQuery query;
  query.by = UsageGrouping::kVersion;
  query.since_ms = kNow;
  UsageReport report;
  UsageFigures f;
  f.requests = 3;
  f.errors = 1;
  f.billed_ms = 300;
  f.on_demand_mb_ms = 300 * 128;
  report.rows.push_back({"", "hello", "$LATEST", f});
  report.totals = f;
  auto j = UsageJson(query, report, PriceTable{});
  EXPECT_EQ(j["by"], "version");
  EXPECT_EQ(j["since"], "2025-12-01T12:00:00.000Z");
  EXPECT_TRUE(j["until"].is_null());
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0]["function"], "hello");
  EXPECT_EQ(j["rows"][0]["version"], "$LATEST");
  EXPECT_EQ(j["totals"]["requests"], 3);
  EXPECT_EQ(j["totals"]["errors"], 1);
  EXPECT_EQ(j["totals"]["billed_ms"], 300);
  EXPECT_DOUBLE_EQ(j["totals"]["gb_seconds"].get<double>(), 300.0 * 128 / 1024 / 1000);
  EXPECT_DOUBLE_EQ(j["totals"]["cost"]["requests"].get<double>(), 3 * 0.20 / 1e6);
  EXPECT_DOUBLE_EQ(j["totals"]["cost"]["duration"].get<double>(),
                   300.0 * 128 / 1024 / 1000 * 0.0000166667);
  EXPECT_EQ(j["prices"]["currency"], "USD");
}

}  // namespace
}  // namespace lambent::metering
