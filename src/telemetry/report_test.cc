#include "telemetry/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lambent::telemetry {
namespace {

TEST(Report, BillsEveryStartedMillisecond) {
  EXPECT_EQ(BilledMs(0.01), 1);
  EXPECT_EQ(BilledMs(1.0), 1);
  EXPECT_EQ(BilledMs(1.01), 2);
  EXPECT_EQ(BilledMs(12.34), 13);
}

// A cold start bills its init with its invoke phase: 12.344 + 120.456 ms is 133 ms.
TEST(Report, FormatsTheReportLineAsLambdaDoes) {
  Report r{"abc", 12.344, 128, 40, 120.456, false};
  EXPECT_EQ(ReportLine(r),
            "REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 133 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 40 MB\tInit Duration: 120.46 ms\n");
}

TEST(Report, MarksATimeoutAndOmitsInitOnAWarmStart) {
  Report r{"abc", 3000.5, 128, 12, std::nullopt, true};
  EXPECT_EQ(ReportLine(r),
            "REPORT RequestId: abc\tDuration: 3000.50 ms\tBilled Duration: 3001 ms\tMemory Size: "
            "128 MB\tMax Memory Used: 12 MB\tStatus: timeout\n");
}

constexpr int64_t kNoon = 1'704'110'400'123;  // 2024-01-01T12:00:00.123Z

TEST(Report, TextFormatIsTheClassicLines) {
  auto text = PlatformLogFormat::Of("Text", "");
  Report r{"abc", 2.5, 128, 10, std::nullopt, false};
  EXPECT_EQ(PlatformStart(text, "abc", "$LATEST", "Root=1-x", kNoon), StartLine("abc", "$LATEST"));
  EXPECT_EQ(PlatformEnd(text, r, kNoon), EndLine("abc") + ReportLine(r));
  EXPECT_EQ(TimeoutLine(text, "abc", 3, kNoon),
            "2024-01-01T12:00:00.123+0000 abc Task timed out after 3.00 seconds\n");
}

TEST(Report, JsonFormatWritesLambdasSystemRecords) {
  auto json = PlatformLogFormat::Of("JSON", "INFO");
  std::string start =
      PlatformStart(json, "abc", "7", "Root=1-5e1b4151-5ac6c58f5b6e2d1e2f3a4b5c;Sampled=0", kNoon);
  ASSERT_TRUE(start.ends_with("}\n"));
  auto doc = nlohmann::json::parse(start);
  EXPECT_EQ(doc,
            nlohmann::json::parse(R"({"time":"2024-01-01T12:00:00.123Z","type":"platform.start",
      "record":{"requestId":"abc","version":"7","tracing":{"type":"X-Amzn-Trace-Id",
      "value":"Root=1-5e1b4151-5ac6c58f5b6e2d1e2f3a4b5c;Sampled=0"}}})"));
  EXPECT_FALSE(
      nlohmann::json::parse(StartRecord("abc", "7", "", kNoon))["record"].contains("tracing"));

  Report cold{"abc", 12.3444, 128, 40, 120.4561, false};
  auto report = nlohmann::json::parse(PlatformEnd(json, cold, kNoon));
  EXPECT_EQ(report,
            nlohmann::json::parse(R"({"time":"2024-01-01T12:00:00.123Z","type":"platform.report",
      "record":{"requestId":"abc","metrics":{"durationMs":12.344,"billedDurationMs":133,"memorySizeMB":128,
      "maxMemoryUsedMB":40,"initDurationMs":120.456},"status":"success"}})"));
  EXPECT_EQ(TimeoutLine(json, "abc", 3, kNoon), "");
}

TEST(Report, JsonReportCarriesTheFailure) {
  Report timeout{"abc", 3000.5, 128, 12, std::nullopt, true};
  auto t = nlohmann::json::parse(ReportRecord(timeout, kNoon))["record"];
  EXPECT_EQ(t["status"], "timeout");
  EXPECT_EQ(t["errorType"], "Sandbox.Timedout");
  EXPECT_FALSE(t["metrics"].contains("initDurationMs"));
  Report crash{"abc", 5, 128, 12, std::nullopt, false, "Runtime.ExitError"};
  auto c = nlohmann::json::parse(ReportRecord(crash, kNoon))["record"];
  EXPECT_EQ(c["status"], "error");
  EXPECT_EQ(c["errorType"], "Runtime.ExitError");
}

// SystemLogLevel WARN keeps only warnings, and Lambda's start and report records are INFO.
TEST(Report, SystemLogLevelWarnFiltersTheInfoRecords) {
  auto warn = PlatformLogFormat::Of("JSON", "WARN");
  EXPECT_EQ(PlatformStart(warn, "abc", "$LATEST", "", kNoon), "");
  EXPECT_EQ(PlatformEnd(warn, Report{"abc"}, kNoon), "");
  EXPECT_NE(PlatformStart(PlatformLogFormat::Of("JSON", "DEBUG"), "abc", "$LATEST", "", kNoon), "");
  EXPECT_NE(PlatformStart(PlatformLogFormat::Of("JSON", ""), "abc", "$LATEST", "", kNoon), "");
}

}  // namespace
}  // namespace lambent::telemetry
