#include "eventbridge/input_transform.h"

#include <gtest/gtest.h>

namespace lambent::eventbridge {
namespace {

using nlohmann::json;

const json kEvent = json::parse(R"({
  "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2", "time": "2015-11-11T21:29:54Z", "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3, "tags": {"a": "b"}}
})");

Target WithTransformer(const char* paths, const char* tmpl) {
  Target target;
  target.input_transformer = json{{"InputPathsMap", json::parse(paths)}, {"InputTemplate", tmpl}};
  return target;
}

TEST(InputTransform, JsonPathsNameFieldsAndElements) {
  EXPECT_EQ(JsonPathValue(kEvent, "$.detail.state"), json("RUNNING"));
  EXPECT_EQ(JsonPathValue(kEvent, "$.resources[0]"), json("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"));
  EXPECT_EQ(JsonPathValue(kEvent, "$['detail-type']"), json("EC2 Instance State-change Notification"));
  EXPECT_EQ(JsonPathValue(kEvent, "$"), kEvent);
  EXPECT_FALSE(JsonPathValue(kEvent, "$.detail.missing"));
  EXPECT_FALSE(JsonPathValue(kEvent, "detail"));
  EXPECT_FALSE(JsonPathValue(kEvent, "$.resources[9]"));
}

TEST(InputTransform, TheEventItselfFixedInputOrAPath) {
  Target whole;
  EXPECT_EQ(json::parse(TargetInput(whole, kEvent, "r", "arn:r", "t")), kEvent);
  Target fixed;
  fixed.input = R"({"fixed": true})";
  EXPECT_EQ(TargetInput(fixed, kEvent, "r", "arn:r", "t"), R"({"fixed": true})");
  Target path;
  path.input_path = "$.detail";
  EXPECT_EQ(json::parse(TargetInput(path, kEvent, "r", "arn:r", "t")), kEvent["detail"]);
}

TEST(InputTransform, TemplatesPutStringsBareInsideQuotesAndAsJsonOutside) {
  auto json_template = WithTransformer(R"({"instance": "$.detail.instance-id", "state": "$.detail.state",
                                           "count": "$.detail.count", "tags": "$.detail.tags"})",
                                       R"({"instance": <instance>, "state": <state>, "n": <count>, "tags": <tags>})");
  EXPECT_EQ(json::parse(TargetInput(json_template, kEvent, "r", "arn:r", "t")),
            json::parse(R"({"instance": "i-0123456789", "state": "RUNNING", "n": 3, "tags": {"a": "b"}})"));
  auto string_template = WithTransformer(R"({"instance": "$.detail.instance-id", "state": "$.detail.state"})",
                                         R"("instance <instance> is in <state>")");
  EXPECT_EQ(TargetInput(string_template, kEvent, "r", "arn:r", "t"), R"("instance i-0123456789 is in RUNNING")");
  auto reserved = WithTransformer("{}", R"({"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>"})");
  EXPECT_EQ(json::parse(TargetInput(reserved, kEvent, "nightly", "arn:aws:events:r:1:rule/nightly", "t")),
            json::parse(R"({"rule": "nightly", "arn": "arn:aws:events:r:1:rule/nightly"})"));
  auto missing = WithTransformer(R"({"x": "$.detail.missing"})", R"({"x": <x>, "y": "<x>"})");
  EXPECT_EQ(json::parse(TargetInput(missing, kEvent, "r", "arn:r", "t")), json::parse(R"({"x": null, "y": ""})"));
}

}  // namespace
}  // namespace lambent::eventbridge
