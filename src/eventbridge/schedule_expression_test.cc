#include "eventbridge/schedule_expression.h"

#include <gtest/gtest.h>

#include <ctime>

namespace lambent::eventbridge {
namespace {

int64_t Ms(int year, int month, int day, int hour = 0, int minute = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return int64_t(timegm(&tm)) * 1000;
}

ScheduleExpression Parse(const char* text) {
  auto parsed = ScheduleExpression::Parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : *ScheduleExpression::Parse("rate(1 day)");
}

// 2026-12-01 is a Tuesday.
const int64_t kTuesdayNoon = Ms(2026, 12, 1, 12, 0);

TEST(ScheduleExpression, EveryDayAtTenUtc) {
  auto e = Parse("cron(0 10 * * ? *)");
  EXPECT_EQ(e.Next(kTuesdayNoon, 0, 2), (std::vector<int64_t>{Ms(2026, 12, 2, 10), Ms(2026, 12, 3, 10)}));
}

TEST(ScheduleExpression, QuarterPastNoonEveryDayIsStrictlyAfter) {
  auto e = Parse("cron(15 12 * * ? *)");
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 1, 12, 15), 0), Ms(2026, 12, 2, 12, 15));
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 1, 12, 14) + 59'999, 0), Ms(2026, 12, 1, 12, 15));
}

TEST(ScheduleExpression, SixPmOnWeekdays) {
  auto e = Parse("cron(0 18 ? * MON-FRI *)");
  // Friday the 4th, then Monday the 7th.
  EXPECT_EQ(e.Next(Ms(2026, 12, 4, 12), 0, 2), (std::vector<int64_t>{Ms(2026, 12, 4, 18), Ms(2026, 12, 7, 18)}));
}

TEST(ScheduleExpression, EightAmOnTheFirstOfEveryMonth) {
  auto e = Parse("cron(0 8 1 * ? *)");
  EXPECT_EQ(e.Next(kTuesdayNoon, 0, 2), (std::vector<int64_t>{Ms(2027, 1, 1, 8), Ms(2027, 2, 1, 8)}));
}

TEST(ScheduleExpression, EveryTenMinutesOnWeekdays) {
  auto e = Parse("cron(0/10 * ? * MON-FRI *)");
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 1, 12, 3), 0), Ms(2026, 12, 1, 12, 10));
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 4, 23, 55), 0), Ms(2026, 12, 7, 0, 0)) << "Friday night to Monday";
}

TEST(ScheduleExpression, EveryFiveMinutesInWorkingHours) {
  auto e = Parse("cron(0/5 8-17 ? * MON-FRI *)");
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 1, 17, 55), 0), Ms(2026, 12, 2, 8, 0));
  EXPECT_EQ(e.NextAfter(Ms(2026, 12, 1, 17, 50), 0), Ms(2026, 12, 1, 17, 55));
}

TEST(ScheduleExpression, NineAmOnTheFirstMondayOfTheMonth) {
  auto e = Parse("cron(0 9 ? * 2#1 *)");
  EXPECT_EQ(e.Next(kTuesdayNoon, 0, 2), (std::vector<int64_t>{Ms(2026, 12, 7, 9), Ms(2027, 1, 4, 9)}));
}

TEST(ScheduleExpression, LastDayLastWeekdayAndNearestWeekday) {
  EXPECT_EQ(Parse("cron(0 0 L * ? *)").Next(kTuesdayNoon, 0, 3),
            (std::vector<int64_t>{Ms(2026, 12, 31), Ms(2027, 1, 31), Ms(2027, 2, 28)}));
  // January 2027 ends on a Sunday: its last weekday is Friday the 29th.
  EXPECT_EQ(Parse("cron(0 0 LW * ? *)").NextAfter(Ms(2027, 1, 1), 0), Ms(2027, 1, 29));
  // 2027-05-15 is a Saturday: the nearest weekday is Friday the 14th; 2027-08-01 a Sunday: Monday the 2nd.
  EXPECT_EQ(Parse("cron(0 0 15W * ? *)").NextAfter(Ms(2027, 5, 1), 0), Ms(2027, 5, 14));
  EXPECT_EQ(Parse("cron(0 0 1W * ? *)").NextAfter(Ms(2027, 7, 31), 0), Ms(2027, 8, 2));
  // The last Friday of December 2026 is the 25th.
  EXPECT_EQ(Parse("cron(0 0 ? * 6L *)").NextAfter(kTuesdayNoon, 0), Ms(2026, 12, 25));
}

TEST(ScheduleExpression, YearsAndMonthNamesBoundTheSchedule) {
  auto e = Parse("cron(30 6 29 FEB ? 2027-2028)");
  EXPECT_EQ(e.NextAfter(kTuesdayNoon, 0), Ms(2028, 2, 29, 6, 30)) << "2027 has no February 29th";
  EXPECT_FALSE(e.NextAfter(Ms(2028, 3, 1), 0)) << "no firing after the last year";
  EXPECT_EQ(Parse("cron(0 0 1 JAN,jul ? *)").Next(kTuesdayNoon, 0, 2),
            (std::vector<int64_t>{Ms(2027, 1, 1), Ms(2027, 7, 1)}));
}

TEST(ScheduleExpression, RatesCountFromTheirAnchor) {
  auto e = Parse("rate(5 minutes)");
  EXPECT_TRUE(e.is_rate());
  int64_t anchor = kTuesdayNoon + 7'000;
  EXPECT_EQ(e.NextAfter(anchor, anchor), anchor + 300'000);
  EXPECT_EQ(e.NextAfter(anchor + 300'000, anchor), anchor + 600'000);
  EXPECT_EQ(e.NextAfter(anchor + 3'600'000 + 1, anchor), anchor + 3'900'000) << "missed firings are skipped";
  EXPECT_EQ(Parse("rate(1 hour)").rate_ms(), 3'600'000);
  EXPECT_EQ(Parse("rate(2 days)").rate_ms(), 2 * 86'400'000);
}

TEST(ScheduleExpression, MalformedExpressionsGetEventBridgesMessage) {
  for (const char* bad :
       {"rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(-1 hours)", "rate(5 weeks)", "rate(5)",
        "cron(0 18 * * MON-FRI *)", "cron(0 18 ? * ? *)", "cron(0 10 * * ?)", "cron(60 10 * * ? *)",
        "cron(0 24 * * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 ? * 8 *)", "cron(0 0 ? 13 * *)",
        "cron(0 0 ? * 2#6 *)", "cron(0 0 1 * ? 1969)", "cron(5-1 * * * ? *)", "cron(0 0 1 * ? *", "every day", ""}) {
    auto parsed = ScheduleExpression::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().message(), "Parameter ScheduleExpression is not valid.");
  }
}

}  // namespace
}  // namespace lambent::eventbridge
