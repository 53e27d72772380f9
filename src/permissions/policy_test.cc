#include "permissions/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "permissions/policy_store.h"

namespace lambent::permissions {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kArn = "arn:aws:lambda:us-east-1:000000000000:function:f";

PermissionRequest Parse(json body) {
  auto parsed = ParsePermission(body);
  EXPECT_TRUE(parsed) << body.dump();
  return parsed ? *parsed : PermissionRequest{};
}

TEST(Policy, StatementsHaveLambdasShape) {
  auto events = Statement(Parse({{"StatementId", "events"}, {"Action", "lambda:InvokeFunction"},
                                 {"Principal", "events.amazonaws.com"},
                                 {"SourceArn", "arn:aws:events:us-east-1:000000000000:rule/r"}}),
                          kArn);
  EXPECT_EQ(events, json::parse(R"({"Sid": "events", "Effect": "Allow",
      "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
      "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
      "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:000000000000:rule/r"}}})"));
  auto url = Statement(Parse({{"StatementId", "url"}, {"Action", "lambda:InvokeFunctionUrl"}, {"Principal", "*"},
                              {"FunctionUrlAuthType", "NONE"}}),
                       kArn);
  EXPECT_EQ(url["Principal"], "*");
  EXPECT_EQ(url["Condition"], json::parse(R"({"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})"));
  auto account = Statement(Parse({{"StatementId", "a"}, {"Action", "lambda:*"}, {"Principal", "123456789012"}}), kArn);
  EXPECT_EQ(account["Principal"], json::parse(R"({"AWS": "arn:aws:iam::123456789012:root"})"));
  EXPECT_FALSE(account.contains("Condition"));
}

TEST(Policy, MalformedRequestsAreRefused) {
  EXPECT_FALSE(ParsePermission({{"Action", "lambda:InvokeFunction"}, {"Principal", "*"}}));
  EXPECT_FALSE(ParsePermission({{"StatementId", "bad id"}, {"Action", "lambda:InvokeFunction"}, {"Principal", "*"}}));
  EXPECT_FALSE(ParsePermission({{"StatementId", "s"}, {"Action", "s3:GetObject"}, {"Principal", "*"}}));
  EXPECT_FALSE(ParsePermission({{"StatementId", "s"}, {"Action", "lambda:X"}, {"Principal", 5}}));
  EXPECT_FALSE(ParsePermission({{"StatementId", "s"}, {"Action", "lambda:X"}, {"Principal", "*"},
                                {"FunctionUrlAuthType", "OPEN"}}));
}

TEST(PolicyStore, AddsRemovesChecksRevisionsAndSurvivesARestart) {
  fs::path dir = fs::temp_directory_path() / ("lambent-policy-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    auto store = PolicyStore::Open(dir);
    ASSERT_TRUE(store);
    auto first = (*store)->Add("f", "", json{{"Sid", "a"}}, "");
    ASSERT_TRUE(first);
    EXPECT_EQ((*store)->Add("f", "", json{{"Sid", "a"}}, "").error().code(), ErrorCode::kConflict);
    EXPECT_EQ((*store)->Add("f", "", json{{"Sid", "b"}}, "stale").error().code(), ErrorCode::kPreconditionFailed);
    ASSERT_TRUE((*store)->Add("f", "", json{{"Sid", "b"}}, first->revision_id));
    ASSERT_TRUE((*store)->Add("f", "live", json{{"Sid", "c"}}, ""));
    EXPECT_EQ((*store)->Remove("f", "", "zzz", "").error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE((*store)->Remove("f", "", "a", ""));
  }
  auto store = PolicyStore::Open(dir);
  ASSERT_TRUE(store);
  auto policy = (*store)->Get("f", "");
  ASSERT_TRUE(policy);
  ASSERT_EQ(policy->statements.size(), 1u);
  EXPECT_EQ(policy->statements[0]["Sid"], "b");
  EXPECT_EQ(policy->Document()["Version"], "2012-10-17");
  ASSERT_TRUE((*store)->DeleteFunction("f"));
  EXPECT_FALSE((*store)->Get("f", ""));
  EXPECT_FALSE((*store)->Get("f", "live"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lambent::permissions
