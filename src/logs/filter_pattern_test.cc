#include "logs/filter_pattern.h"

#include <gtest/gtest.h>

namespace lambent::logs {
namespace {

bool Match(std::string_view pattern, std::string_view message) {
  auto parsed = FilterPattern::Parse(pattern);
  EXPECT_TRUE(parsed) << pattern << ": " << parsed.error().message();
  return parsed && parsed->Matches(message);
}

// The examples of CloudWatch's "Filter pattern syntax" and of the filterPattern parameter.
TEST(FilterPatternTest, TermsAsCloudWatchDocumentsThem) {
  EXPECT_TRUE(Match("", "anything"));
  EXPECT_TRUE(Match("ERROR", "[ERROR] something failed"));
  EXPECT_FALSE(Match("ERROR", "[error] something failed"));  // case-sensitive
  EXPECT_TRUE(Match("ERROR Exception", "ERROR: NullPointerException"));
  EXPECT_FALSE(Match("ERROR Exception", "ERROR: timed out"));
  EXPECT_TRUE(Match("?ERROR ?Exception", "a NullPointerException"));
  EXPECT_TRUE(Match("?ERROR ?Exception", "ERROR here"));
  EXPECT_FALSE(Match("?ERROR ?Exception", "INFO all good"));
  EXPECT_TRUE(Match("-ERROR", "INFO all good"));
  EXPECT_FALSE(Match("-ERROR", "ERROR bad"));
  EXPECT_TRUE(Match("ERROR -Exiting", "ERROR retrying"));
  EXPECT_FALSE(Match("ERROR -Exiting", "ERROR Exiting now"));
  EXPECT_TRUE(Match("\"INTERNAL SERVER ERROR\"", "500 INTERNAL SERVER ERROR"));
  EXPECT_FALSE(Match("\"INTERNAL SERVER ERROR\"", "INTERNAL ERROR on SERVER"));
  EXPECT_TRUE(Match("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST"));
  EXPECT_TRUE(Match("%[hc]at$%", "a hat"));
  EXPECT_FALSE(Match("%^[hc]at%", "a hat"));
}

TEST(FilterPatternTest, JsonSelectorsAsCloudWatchDocumentsThem) {
  const std::string event = R"({"eventType":"UpdateTrail","sourceIPAddress":"123.123.123.123","arrayKey":["value","another"],)"
                            R"("objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null,)"
                            R"("cidr":"0.0.0.0/0","bandwidth":80,"latency":600,"numbers":[5,12],"ok":true,)"
                            R"("user":{"id":1,"email":"John.Doe@example.com"},"users":[{"email":"John.Doe@example.com"}]})";
  EXPECT_TRUE(Match(R"({ $.eventType = "UpdateTrail" })", event));
  EXPECT_FALSE(Match(R"({ $.eventType = "CreateTrail" })", event));
  EXPECT_TRUE(Match(R"({ $.sourceIPAddress != 123.123.* })", R"({"sourceIPAddress":"10.0.0.1"})"));
  EXPECT_FALSE(Match(R"({ $.sourceIPAddress != 123.123.* })", event));
  EXPECT_TRUE(Match(R"({ $.arrayKey[0] = "value" })", event));
  EXPECT_TRUE(Match(R"({ $.objectList[1].id = 2 })", event));
  EXPECT_TRUE(Match(R"({ $.SomeObject IS NULL })", event));
  EXPECT_TRUE(Match(R"({ $.SomeOtherObject NOT EXISTS })", event));
  EXPECT_FALSE(Match(R"({ $.SomeObject NOT EXISTS })", event));
  EXPECT_TRUE(Match(R"({ $.ok IS TRUE })", event));
  EXPECT_TRUE(Match(R"({ $.cidr = "0.0.0.0/0" })", event));
  EXPECT_TRUE(Match(R"({ $.bandwidth > 75 })", event));
  EXPECT_TRUE(Match(R"({ $.latency >= 500 })", event));
  EXPECT_FALSE(Match(R"({ $.latency < 500 })", event));
  EXPECT_TRUE(Match(R"({ $.numbers[0] < 10 })", event));
  EXPECT_TRUE(Match(R"({ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") })", event));
  EXPECT_TRUE(Match(R"({ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.latency > 500 })", event));
  EXPECT_FALSE(Match(R"({ $.user.id = 2 && $.users[0].email = "John.Doe@example.com" })", event));
  EXPECT_TRUE(Match(R"({ $.user.email = "John.*" })", event));
  // Not JSON, or JSON after a text prefix: no fields to select.
  EXPECT_FALSE(Match(R"({ $.eventType = "UpdateTrail" })", "UpdateTrail"));
  EXPECT_FALSE(Match(R"({ $.a = 1 })", R"(2024-01-01T00:00:00Z id INFO {"a":1})"));
}

TEST(FilterPatternTest, RefusesWhatItCannotRead) {
  for (const char* bad : {"{ $.a = }", "{ a = 1 }", "{ $.a > \"x\" }", "{ $.a = 1", "\"open", "[ip, user]",
                          "{ ($.a = 1 }", "%[%"}) {
    auto parsed = FilterPattern::Parse(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace lambent::logs
