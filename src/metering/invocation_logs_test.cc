#include "metering/invocation_logs.h"

#include <gtest/gtest.h>

namespace lambent::metering {
namespace {

using telemetry::LogEvent;

std::vector<std::string> Messages(const std::vector<LogEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.message);
  return out;
}

TEST(InvocationLines, TakesItsStreamFromStartToReportLeavingOtherStreamsOut) {
  std::vector<LogEvent> events{
      {1, "a", "START RequestId: r0 Version: $LATEST"},
      {2, "a", "REPORT RequestId: r0\tDuration: 1.00 ms"},
      {3, "a", "START RequestId: r1 Version: $LATEST"},
      {4, "b", "START RequestId: r2 Version: $LATEST"},
      {5, "a", "hello from r1"},
      {6, "b", "hello from r2"},
      {7, "a", "END RequestId: r1"},
      {8, "a", "REPORT RequestId: r1\tDuration: 3.00 ms"},
      {9, "a", "START RequestId: r3 Version: $LATEST"},
  };
  EXPECT_EQ(Messages(SelectInvocationLines(events, "r1")),
            (std::vector<std::string>{"START RequestId: r1 Version: $LATEST", "hello from r1", "END RequestId: r1",
                                      "REPORT RequestId: r1\tDuration: 3.00 ms"}));
  EXPECT_EQ(Messages(SelectInvocationLines(events, "r2")),
            (std::vector<std::string>{"START RequestId: r2 Version: $LATEST", "hello from r2"}));
}

TEST(InvocationLines, ReadsJsonPlatformRecords) {
  std::vector<LogEvent> events{
      {1, "a", R"({"time":"t","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}})"},
      {2, "a", R"({"timestamp":"t","level":"INFO","message":"hi","requestId":"r1"})"},
      {3, "a", R"({"time":"t","type":"platform.report","record":{"requestId":"r1","status":"success"}})"},
      {4, "a", R"({"timestamp":"t","level":"INFO","message":"later"})"},
  };
  EXPECT_EQ(SelectInvocationLines(events, "r1").size(), 3u);
}

TEST(InvocationLines, WithoutAStartLineTakesTheLinesNamingTheRequest) {
  std::vector<LogEvent> events{{1, "a", "x r1 y"}, {2, "a", "other"}, {3, "b", "r1 again"}};
  EXPECT_EQ(Messages(SelectInvocationLines(events, "r1")), (std::vector<std::string>{"x r1 y", "r1 again"}));
  EXPECT_TRUE(SelectInvocationLines(events, "").empty());
}

TEST(InvocationLines, AnIdThatIsAPrefixOfAnotherDoesNotMatchItsStart) {
  std::vector<LogEvent> events{{1, "a", "START RequestId: r10 Version: 1"}, {2, "a", "in r10"}};
  // No START of "r1": the fallback matches by substring, which is what a partial id asks for.
  EXPECT_EQ(SelectInvocationLines(events, "r1").size(), 2u);
}

}  // namespace
}  // namespace lambent::metering
