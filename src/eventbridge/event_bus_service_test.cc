#include "eventbridge/event_bus_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace lambent::eventbridge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class EventBusServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lambent-eventbridge-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    service_.reset();
    store_.reset();
    auto store = RuleStore::Open(dir_);
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    service_ = std::make_unique<EventBusService>(
        *store_, ServiceOptions{"us-east-1", "000000000000", [this] { return now_; }});
    ASSERT_TRUE(service_->Load());
  }
  json Call(const std::string& op, const json& request) {
    auto answer = service_->Call(op, request);
    EXPECT_TRUE(answer) << op << ": " << (answer ? "" : answer.error().type + " " + answer.error().message);
    return answer ? *answer : json();
  }
  std::string ErrorType(const std::string& op, const json& request) {
    auto answer = service_->Call(op, request);
    EXPECT_FALSE(answer) << op << " " << request.dump();
    return answer ? "" : answer.error().type;
  }

  fs::path dir_;
  int64_t now_ = 1'700'000'000'000;
  std::unique_ptr<RuleStore> store_;
  std::unique_ptr<EventBusService> service_;
};

TEST_F(EventBusServiceTest, RulesAndTargetsSurviveARestart) {
  auto put = Call("PutRule", {{"Name", "nightly"}, {"ScheduleExpression", "cron(0 3 * * ? *)"}});
  EXPECT_EQ(put["RuleArn"], "arn:aws:events:us-east-1:000000000000:rule/nightly");
  auto targets = Call("PutTargets", {{"Rule", "nightly"},
                                     {"Targets", {{{"Id", "1"}, {"Arn", "arn:aws:lambda:us-east-1:000000000000:function:f"}},
                                                  {{"Id", "2"}, {"Arn", "arn:aws:sns:us-east-1:000000000000:topic"}}}}});
  EXPECT_EQ(targets["FailedEntryCount"], 1) << "lambent cannot deliver to SNS";
  EXPECT_EQ(targets["FailedEntries"][0]["TargetId"], "2");
  Open();
  auto rule = Call("DescribeRule", {{"Name", "nightly"}});
  EXPECT_EQ(rule["ScheduleExpression"], "cron(0 3 * * ? *)");
  EXPECT_EQ(rule["State"], "ENABLED");
  auto listed = Call("ListTargetsByRule", {{"Rule", "nightly"}});
  ASSERT_EQ(listed["Targets"].size(), 1u);
  EXPECT_EQ(listed["Targets"][0]["Id"], "1");
  EXPECT_EQ(service_->snapshot()->rules.size(), 1u);
  EXPECT_TRUE(service_->snapshot()->rules[0]->schedule);
}

TEST_F(EventBusServiceTest, ValidationFollowsEventBridge) {
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "r"}}), "ValidationException");
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "bad name"}, {"ScheduleExpression", "rate(1 minute)"}}), "ValidationException");
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "r"}, {"ScheduleExpression", "rate(1 minutes)"}}), "ValidationException");
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "r"}, {"EventPattern", "{\"source\": \"x\"}"}}), "InvalidEventPatternException");
  EXPECT_EQ(ErrorType("DescribeRule", {{"Name", "nope"}}), "ResourceNotFoundException");
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "r"}, {"EventPattern", "{\"source\": [\"x\"]}"}, {"EventBusName", "nobus"}}),
            "ResourceNotFoundException");
  EXPECT_EQ(ErrorType("Frobnicate", json::object()), "UnknownOperationException");
}

TEST_F(EventBusServiceTest, BusesHoldTheirOwnRulesAndSchedulesOnlyTheDefault) {
  auto bus = Call("CreateEventBus", {{"Name", "orders"}});
  EXPECT_EQ(bus["EventBusArn"], "arn:aws:events:us-east-1:000000000000:event-bus/orders");
  EXPECT_EQ(ErrorType("CreateEventBus", {{"Name", "orders"}}), "ResourceAlreadyExistsException");
  EXPECT_EQ(ErrorType("PutRule", {{"Name", "s"}, {"ScheduleExpression", "rate(5 minutes)"}, {"EventBusName", "orders"}}),
            "ValidationException");
  Call("PutRule", {{"Name", "big"}, {"EventPattern", R"({"detail": {"total": [{"numeric": [">", 100]}]}})"},
                   {"EventBusName", "arn:aws:events:us-east-1:000000000000:event-bus/orders"}});
  EXPECT_EQ(Call("ListRules", {{"EventBusName", "orders"}})["Rules"].size(), 1u);
  EXPECT_EQ(Call("ListRules", json::object())["Rules"].size(), 0u);
  EXPECT_EQ(Call("ListEventBuses", json::object())["EventBuses"].size(), 2u);
  Call("DeleteEventBus", {{"Name", "orders"}});
  EXPECT_EQ(ErrorType("ListRules", {{"EventBusName", "orders"}}), "ResourceNotFoundException");
  EXPECT_EQ(ErrorType("DeleteEventBus", {{"Name", "default"}}), "ValidationException");
}

TEST_F(EventBusServiceTest, ARuleWithTargetsIsDeletedOnlyWithoutThemOrByForce) {
  Call("PutRule", {{"Name", "r"}, {"EventPattern", R"({"source": ["shop"]})"}});
  Call("PutTargets", {{"Rule", "r"}, {"Targets", {{{"Id", "t"}, {"Arn", "arn:aws:sqs:us-east-1:000000000000:q"}}}}});
  EXPECT_EQ(ErrorType("DeleteRule", {{"Name", "r"}}), "ValidationException");
  Call("RemoveTargets", {{"Rule", "r"}, {"Ids", {"t"}}});
  Call("DeleteRule", {{"Name", "r"}});
  EXPECT_EQ(ErrorType("DescribeRule", {{"Name", "r"}}), "ResourceNotFoundException");
  Call("DeleteRule", {{"Name", "r"}});  // already gone: succeeds
}

TEST_F(EventBusServiceTest, EnablingARateRestartsItsCount) {
  Call("PutRule", {{"Name", "tick"}, {"ScheduleExpression", "rate(1 minute)"}, {"State", "DISABLED"}});
  now_ += 10'000;
  Call("EnableRule", {{"Name", "tick"}});
  EXPECT_EQ(service_->snapshot()->rules[0]->rule.anchor_ms, now_);
  EXPECT_EQ(Call("DescribeRule", {{"Name", "tick"}})["State"], "ENABLED");
  Call("DisableRule", {{"Name", "tick"}});
  EXPECT_EQ(Call("DescribeRule", {{"Name", "tick"}})["State"], "DISABLED");
}

TEST_F(EventBusServiceTest, TestEventPatternAnswersAsTheService) {
  json event{{"id", "1"}, {"account", "000000000000"}, {"source", "shop"}, {"time", "2026-12-01T00:00:00Z"},
             {"region", "us-east-1"}, {"resources", json::array()}, {"detail-type", "Order"},
             {"detail", {{"total", 120}}}};
  auto yes = Call("TestEventPattern", {{"EventPattern", R"({"detail": {"total": [{"numeric": [">", 100]}]}})"},
                                       {"Event", event.dump()}});
  EXPECT_EQ(yes["Result"], true);
  auto no = Call("TestEventPattern", {{"EventPattern", R"({"source": ["other"]})"}, {"Event", event.dump()}});
  EXPECT_EQ(no["Result"], false);
  EXPECT_EQ(ErrorType("TestEventPattern", {{"EventPattern", R"({"source": ["x"]})"}, {"Event", "{}"}}),
            "ValidationException");
}

}  // namespace
}  // namespace lambent::eventbridge
