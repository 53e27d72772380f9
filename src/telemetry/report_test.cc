#include "telemetry/report.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lambent::telemetry
