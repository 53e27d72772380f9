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

TEST(FunctionRef, AcceptsEveryFormLambdaAccepts) {
  EXPECT_EQ(ParseFunctionRef("hello")->name, "hello");
  EXPECT_EQ(ParseFunctionRef("hello:$LATEST")->qualifier, "$LATEST");
  EXPECT_EQ(ParseFunctionRef("123456789012:function:hello")->name, "hello");
  auto arn = ParseFunctionRef("arn:aws:lambda:us-east-1:123456789012:function:hello:live");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->name, "hello");
  EXPECT_EQ(arn->qualifier, "live");
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
