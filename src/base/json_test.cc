#include "base/json.h"

#include <gtest/gtest.h>

namespace lambent {
namespace {

TEST(DumpJson, ReplacesBytesThatAreNotUtf8InsteadOfThrowing) {
  nlohmann::json document{{"message", std::string("bad \xff name")}};
  EXPECT_THROW((void)document.dump(), nlohmann::json::type_error);
  EXPECT_EQ(DumpJson(document), "{\"message\":\"bad \xEF\xBF\xBD name\"}");
}

TEST(ValidUtf8, KeepsValidTextAsItIs) {
  std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";
  EXPECT_EQ(ValidUtf8(text), text);
}

TEST(ValidUtf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(ValidUtf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ValidUtf8("\xC3"), "\xEF\xBF\xBD");                       // truncated
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");       // overlong
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80").size(), 12u);               // past U+10FFFF
}

TEST(JsonNestsDeeperThan, CountsArraysAndObjects) {
  EXPECT_FALSE(JsonNestsDeeperThan(R"({"a":[{"b":[1]}]})", 4));
  EXPECT_TRUE(JsonNestsDeeperThan(R"({"a":[{"b":[1]}]})", 3));
  EXPECT_TRUE(JsonNestsDeeperThan(std::string(100000, '['), 64));
}

TEST(JsonNestsDeeperThan, IgnoresBracketsInsideStrings) {
  EXPECT_FALSE(JsonNestsDeeperThan(R"({"a":"[[[[[[{{{{{\"[[[["})", 1));
}

}  // namespace
}  // namespace lambent
