#include "logs/logs_api.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace lambent::logs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class LogsApiTest : public ::testing::Test {
 protected:
  LogsApiTest()
      : dir_(fs::temp_directory_path() / ("lambent-logs-api-test-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        store_((fs::remove_all(dir_), dir_), {.timestamp_lines = true}),
        deps_{io_, workers_, store_, "us-east-1", "000000000000"} {}
  ~LogsApiTest() override { fs::remove_all(dir_); }

  LogsAnswer Call(const std::string& op, json request) { return CallLogsOperation(deps_, op, request); }

  fs::path dir_;
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_{1};
  telemetry::LogStore store_;
  LogsDeps deps_;
};

TEST_F(LogsApiTest, DescribesGroupsAndStreams) {
  store_.Append("alpha", "a1\n", "2026/01/01/[$LATEST]aa");
  store_.Append("beta", "b1\n", "2026/01/01/[$LATEST]bb");
  store_.Append("beta", "b2\n", "2026/01/01/[$LATEST]cc");
  auto groups = Call("DescribeLogGroups", {{"logGroupNamePrefix", "/aws/lambda/b"}});
  ASSERT_EQ(groups.status, 200);
  ASSERT_EQ(groups.body["logGroups"].size(), 1u);
  EXPECT_EQ(groups.body["logGroups"][0]["logGroupName"], "/aws/lambda/beta");
  EXPECT_GT(groups.body["logGroups"][0]["creationTime"].get<int64_t>(), 0);
  auto page = Call("DescribeLogGroups", {{"limit", 1}});
  EXPECT_EQ(page.body["logGroups"].size(), 1u);
  auto rest = Call("DescribeLogGroups", {{"limit", 1}, {"nextToken", page.body["nextToken"]}});
  EXPECT_EQ(rest.body["logGroups"][0]["logGroupName"], "/aws/lambda/beta");
  auto streams = Call("DescribeLogStreams", {{"logGroupName", "/aws/lambda/beta"},
                                             {"orderBy", "LastEventTime"}, {"descending", true}});
  ASSERT_EQ(streams.body["logStreams"].size(), 2u);
  EXPECT_EQ(streams.body["logStreams"][0]["logStreamName"], "2026/01/01/[$LATEST]cc");
  EXPECT_TRUE(streams.body["logStreams"][0].contains("lastEventTimestamp"));
  auto missing = Call("DescribeLogStreams", {{"logGroupName", "/aws/lambda/nobody"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["__type"], "ResourceNotFoundException");
}

TEST_F(LogsApiTest, GetLogEventsPagesAndGivesTheSameTokenBackAtTheEnd) {
  for (int i = 0; i < 5; ++i) store_.Append("fn", "line " + std::to_string(i) + "\n", "s1");
  store_.Append("fn", "other stream\n", "s2");
  json request{{"logGroupName", "/aws/lambda/fn"}, {"logStreamName", "s1"}, {"startFromHead", true}, {"limit", 3}};
  auto first = Call("GetLogEvents", request);
  ASSERT_EQ(first.body["events"].size(), 3u);
  EXPECT_EQ(first.body["events"][0]["message"], "line 0\n");
  request["nextToken"] = first.body["nextForwardToken"];
  auto second = Call("GetLogEvents", request);
  ASSERT_EQ(second.body["events"].size(), 2u);
  request["nextToken"] = second.body["nextForwardToken"];
  auto end = Call("GetLogEvents", request);
  EXPECT_TRUE(end.body["events"].empty());
  EXPECT_EQ(end.body["nextForwardToken"], second.body["nextForwardToken"]);
  auto newest = Call("GetLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"logStreamName", "s1"}, {"limit", 2}});
  EXPECT_EQ(newest.body["events"][1]["message"], "line 4\n");
  EXPECT_EQ(Call("GetLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"logStreamName", "nope"}}).body["__type"],
            "ResourceNotFoundException");
}

TEST_F(LogsApiTest, FilterLogEventsSelectsPagesAndNamesStreams) {
  store_.Append("fn", "INFO start\nERROR boom\nINFO done\n", "s1");
  store_.Append("fn", "ERROR bang\n", "s2");
  auto errors = Call("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"filterPattern", "ERROR"}});
  ASSERT_EQ(errors.body["events"].size(), 2u);
  EXPECT_EQ(errors.body["events"][1]["logStreamName"], "s2");
  EXPECT_FALSE(errors.body.contains("nextToken"));
  auto one = Call("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"logStreamNames", {"s1"}}, {"limit", 2}});
  ASSERT_EQ(one.body["events"].size(), 2u);
  ASSERT_TRUE(one.body.contains("nextToken"));
  auto two = Call("FilterLogEvents",
                  {{"logGroupName", "/aws/lambda/fn"}, {"logStreamNames", {"s1"}}, {"nextToken", one.body["nextToken"]}});
  ASSERT_EQ(two.body["events"].size(), 1u);
  EXPECT_EQ(two.body["events"][0]["message"], "INFO done\n");
  EXPECT_NE(one.body["events"][0]["eventId"], one.body["events"][1]["eventId"]);
  auto bad = Call("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"filterPattern", "{ $.a > \"x\" }"}});
  EXPECT_EQ(bad.body["__type"], "InvalidParameterException");
}

TEST_F(LogsApiTest, AFollowerGetsTokensThatWaitForNewLines) {
  store_.Append("fn", "first\n", "s1");
  int64_t newest = store_.Events("fn")->back().timestamp;
  // As `aws logs tail --follow` asks after its sleep: from its newest event's time.
  json request{{"logGroupName", "/aws/lambda/fn"}, {"interleaved", true}, {"startTime", newest}};
  auto poll = Call("FilterLogEvents", request);
  ASSERT_TRUE(poll.body.contains("nextToken"));
  request["nextToken"] = poll.body["nextToken"];
  auto idle = CallLogsOperation(deps_, "FilterLogEvents", request, /*last_try=*/false);
  EXPECT_TRUE(idle.poll_wait);
  store_.Append("fn", "second\n", "s1");
  auto next = CallLogsOperation(deps_, "FilterLogEvents", request, false);
  ASSERT_EQ(next.body["events"].size(), 1u);
  EXPECT_EQ(next.body["events"][0]["message"], "second\n");
  EXPECT_TRUE(next.body.contains("nextToken"));
  // A one-off read gets no token at the end.
  EXPECT_FALSE(Call("FilterLogEvents", {{"logGroupName", "/aws/lambda/fn"}, {"interleaved", true}})
                   .body.contains("nextToken"));
}

TEST_F(LogsApiTest, RetentionTakesCloudWatchsPeriodsOnly) {
  store_.Append("fn", "x\n", "s1");
  EXPECT_EQ(Call("PutRetentionPolicy", {{"logGroupName", "/aws/lambda/fn"}, {"retentionInDays", 2}}).body["__type"],
            "InvalidParameterException");
  EXPECT_EQ(Call("PutRetentionPolicy", {{"logGroupName", "/aws/lambda/fn"}, {"retentionInDays", 7}}).status, 200);
  EXPECT_EQ(store_.Retention("fn"), 7);
  EXPECT_EQ(Call("DescribeLogGroups", json::object()).body["logGroups"][0]["retentionInDays"], 7);
  EXPECT_EQ(Call("DeleteRetentionPolicy", {{"logGroupName", "/aws/lambda/fn"}}).status, 200);
  EXPECT_EQ(store_.Retention("fn"), std::nullopt);
  EXPECT_EQ(Call("PutRetentionPolicy", {{"logGroupName", "/aws/lambda/zz"}, {"retentionInDays", 7}}).body["__type"],
            "ResourceNotFoundException");
  EXPECT_EQ(Call("CreateLogGroup", {{"logGroupName", "/aws/lambda/fn"}}).body["__type"],
            "ResourceAlreadyExistsException");
  EXPECT_EQ(Call("CreateLogGroup", {{"logGroupName", "/other"}}).body["__type"], "InvalidParameterException");
  EXPECT_EQ(Call("Nope", json::object()).body["__type"], "UnknownOperationException");
}

// Functions that share a LoggingConfig.LogGroup are one group: listed once, their events
// merged by time, their streams together; their default groups are gone.
TEST_F(LogsApiTest, ACustomGroupHoldsTheLinesOfItsFunctions) {
  store_.SetGroup("one", "/app/shared");
  store_.SetGroup("two", "/app/shared");
  store_.Append("one", "first\n", "2026/01/01/[$LATEST]11");
  ::usleep(2000);
  store_.Append("two", "second\n", "2026/01/01/[$LATEST]22");
  ::usleep(2000);
  store_.Append("one", "third\n", "2026/01/01/[$LATEST]11");
  auto groups = Call("DescribeLogGroups", json::object());
  ASSERT_EQ(groups.body["logGroups"].size(), 1u);
  EXPECT_EQ(groups.body["logGroups"][0]["logGroupName"], "/app/shared");
  auto events = Call("FilterLogEvents", {{"logGroupName", "/app/shared"}});
  ASSERT_EQ(events.status, 200);
  std::vector<std::string> messages;
  for (const auto& e : events.body["events"]) messages.push_back(e["message"]);
  EXPECT_EQ(messages, (std::vector<std::string>{"first\n", "second\n", "third\n"}));
  auto streams = Call("DescribeLogStreams", {{"logGroupName", "/app/shared"}});
  EXPECT_EQ(streams.body["logStreams"].size(), 2u);
  auto one = Call("GetLogEvents", {{"logGroupName", "/app/shared"}, {"logStreamName", "2026/01/01/[$LATEST]22"}});
  ASSERT_EQ(one.body["events"].size(), 1u);
  EXPECT_EQ(one.body["events"][0]["message"], "second\n");
  EXPECT_EQ(Call("FilterLogEvents", {{"logGroupName", "/aws/lambda/one"}}).body["__type"],
            "ResourceNotFoundException");
}

}  // namespace
}  // namespace lambent::logs
