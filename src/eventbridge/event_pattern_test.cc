#include "eventbridge/event_pattern.h"

#include <gtest/gtest.h>

namespace lambent::eventbridge {
namespace {

using nlohmann::json;

bool Match(const char* pattern, const char* event) {
  auto parsed = EventPattern::Parse(pattern);
  EXPECT_TRUE(parsed) << pattern << ": " << (parsed ? "" : parsed.error().message());
  return parsed && parsed->Matches(json::parse(event));
}

// The EC2 state-change event of EventBridge's documentation.
constexpr const char* kEc2Event = R"({
  "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
  "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated",
             "c-count": 5, "d-count": 7, "x-limit": 301.8, "source-ip": "10.0.0.123",
             "responseElements": null, "empty": "", "tags": ["a", "b"],
             "items": [{"name": "x", "size": 3}, {"name": "y", "size": 30}]}
})";

TEST(EventPattern, ExactValuesNestedFieldsAndArraysAsOr) {
  EXPECT_TRUE(Match(R"({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                        "detail": {"state": ["running", "terminated"]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"source": ["aws.ec2"], "detail": {"state": ["running"]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"source": ["aws.s3"]})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"missing": ["x"]}})", kEc2Event));
}

TEST(EventPattern, AnEventArrayMatchesWhenAnyElementDoes) {
  EXPECT_TRUE(Match(R"({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]})",
                    kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"tags": ["b"]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"items": {"name": ["y"], "size": [30]}}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"items": {"name": ["x"], "size": [30]}}})", kEc2Event))
      << "both conditions hold for one element";
}

TEST(EventPattern, NullEmptyStringsAndNumbers) {
  EXPECT_TRUE(Match(R"({"detail": {"responseElements": [null]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"empty": [""]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"c-count": [5.0]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"c-count": ["5"]}})", kEc2Event)) << "a string is not a number";
}

TEST(EventPattern, PrefixSuffixIgnoreCaseAndWildcard) {
  EXPECT_TRUE(Match(R"({"time": [{"prefix": "2017-12-22"}]})", kEc2Event));
  EXPECT_TRUE(Match(R"({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"instance-id": [{"suffix": "def0"}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"instance-id": [{"suffix": {"equals-ignore-case": "DEF0"}}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]})", kEc2Event));
  EXPECT_FALSE(Match(R"({"resources": [{"wildcard": "arn:aws:s3:*"}]})", kEc2Event));
  EXPECT_FALSE(Match(R"({"time": [{"prefix": "2018"}]})", kEc2Event));
}

TEST(EventPattern, AnythingBut) {
  EXPECT_TRUE(Match(R"({"detail": {"state": [{"anything-but": "initializing"}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"c-count": [{"anything-but": 123}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"c-count": [{"anything-but": [4, 5]}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"state": [{"anything-but": {"suffix": ".png"}}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"anything-but": {"wildcard": "term*"}}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"missing": [{"anything-but": "x"}]}})", kEc2Event)) << "an absent field";
}

TEST(EventPattern, NumericRanges) {
  EXPECT_TRUE(Match(R"({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                                   "d-count": [{"numeric": ["<", 10]}],
                                   "x-limit": [{"numeric": ["=", 3.018e2]}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"c-count": [{"numeric": [">", 5]}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"numeric": [">", 0]}]}})", kEc2Event));
}

TEST(EventPattern, ExistsAndCidr) {
  EXPECT_TRUE(Match(R"({"detail": {"state": [{"exists": true}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"detail": {"missing": [{"exists": false}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"state": [{"exists": false}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": [{"exists": true}]})", kEc2Event)) << "exists is for leaves";
  EXPECT_TRUE(Match(R"({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})", kEc2Event));
  EXPECT_TRUE(Match(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "2001:db8::1"})"));
}

TEST(EventPattern, OrBetweenSubPatterns) {
  EXPECT_TRUE(Match(R"({"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]},
                                            {"d-count": [{"numeric": ["<", 10]}]}]}})", kEc2Event));
  EXPECT_FALSE(Match(R"({"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]},
                                                        {"detail": {"state": ["running"]}}]})", kEc2Event));
}

TEST(EventPattern, MalformedPatternsAreRefusedWithAReason) {
  for (const char* bad : {"not json", "[]", "{}", R"({"source": "aws.ec2"})", R"({"source": []})",
                          R"({"source": [{"regex": "x"}]})", R"({"source": [{"prefix": 1}]})",
                          R"({"n": [{"numeric": [">", "a"]}]})", R"({"n": [{"numeric": ["<", 5, ">", 1]}]})",
                          R"({"n": [{"numeric": [">", 5, "<", 1]}]})", R"({"n": [{"exists": "yes"}]})",
                          R"({"ip": [{"cidr": "10.0.0.0"}]})", R"({"$or": [{"a": ["b"]}]})",
                          R"({"a": [{"anything-but": []}]})", R"({"a": [{"wildcard": "a**b"}]})",
                          R"({"a": [{"prefix": "x", "suffix": "y"}]})"}) {
    auto parsed = EventPattern::Parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_TRUE(parsed.error().message().starts_with("Event pattern is not valid. Reason: ")) << bad;
  }
}

}  // namespace
}  // namespace lambent::eventbridge
