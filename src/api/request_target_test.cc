#include "api/request_target.h"

#include <gtest/gtest.h>

namespace lambent::api {
namespace {

TEST(RequestTarget, SplitsDecodedSegmentsAndQuery) {
  auto t = ParseTarget("/2015-03-31/functions/arn%3Aaws%3Alambda/invocations?Qualifier=%24LATEST&x");
  ASSERT_EQ(t.segments.size(), 4u);
  EXPECT_EQ(t.segments[2], "arn:aws:lambda");
  EXPECT_EQ(t.Query("Qualifier"), "$LATEST");
  EXPECT_EQ(t.Query("x"), "");
  EXPECT_FALSE(t.Query("y"));
}

TEST(RequestTarget, IgnoresATrailingSlash) {
  auto t = ParseTarget("/2015-03-31/functions/?MaxItems=2");
  ASSERT_EQ(t.segments.size(), 2u);
  EXPECT_EQ(t.Query("MaxItems"), "2");
}

TEST(RequestTarget, KeepsEveryValueOfARepeatedKey) {
  auto t = ParseTarget("/2017-03-31/tags/x?tagKeys=a&tagKeys=b%20c&other=1&tagKeys=");
  EXPECT_EQ(t.QueryAll("tagKeys"), (std::vector<std::string>{"a", "b c", ""}));
  EXPECT_EQ(t.Query("tagKeys"), "");
  EXPECT_TRUE(t.QueryAll("missing").empty());
}

TEST(FunctionRef, AcceptsEveryFormLambdaAccepts) {
  EXPECT_EQ(ParseFunctionRef("hello")->name, "hello");
  EXPECT_EQ(ParseFunctionRef("hello:$LATEST")->qualifier, "$LATEST");
  EXPECT_EQ(ParseFunctionRef("123456789012:function:hello")->name, "hello");
  auto arn = ParseFunctionRef("arn:aws:lambda:us-east-1:123456789012:function:hello:live");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->name, "hello");
  EXPECT_EQ(arn->qualifier, "live");
  EXPECT_EQ(arn->region, "us-east-1");
  EXPECT_EQ(arn->account, "123456789012");
  EXPECT_EQ(ParseFunctionRef("123456789012:function:hello")->account, "123456789012");
  EXPECT_TRUE(ParseFunctionRef("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:x"));
}

TEST(FunctionRef, RejectsArnsWhoseRegionOrAccountAreMalformed) {
  EXPECT_FALSE(ParseFunctionRef("arn:aws:lambda:moon:123456789012:function:hello"));
  EXPECT_FALSE(ParseFunctionRef("arn:aws:lambda:us-east-1:1234:function:hello"));
  EXPECT_FALSE(ParseFunctionRef("arn:gcp:lambda:us-east-1:123456789012:function:hello"));
  EXPECT_FALSE(ParseFunctionRef("12345:function:hello"));
}

TEST(FunctionRef, TellsAnotherRegionOrAccountFromThisOne) {
  auto scope = [](std::string_view text) {
    return ScopeOf(*ParseFunctionRef(text), "us-east-1", "000000000000");
  };
  EXPECT_EQ(scope("hello"), RefScope::kThisAccount);
  EXPECT_EQ(scope("arn:aws:lambda:us-east-1:000000000000:function:hello"), RefScope::kThisAccount);
  EXPECT_EQ(scope("arn:aws:lambda:eu-west-1:000000000000:function:hello"), RefScope::kOtherRegion);
  EXPECT_EQ(scope("arn:aws:lambda:us-east-1:123456789012:function:hello"), RefScope::kOtherAccount);
  EXPECT_EQ(scope("123456789012:function:hello"), RefScope::kOtherAccount);
}

TEST(FunctionRef, RejectsNamesThatBreakTheRule) {
  EXPECT_FALSE(ParseFunctionRef("has space"));
  EXPECT_FALSE(ParseFunctionRef(""));
  EXPECT_FALSE(ParseFunctionRef("a:b:c"));
  EXPECT_FALSE(ParseFunctionRef("hello:"));
  EXPECT_FALSE(ParseFunctionRef(std::string(65, 'x')));
}

}  // namespace
}  // namespace lambent::api
