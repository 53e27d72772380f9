#include "api/function_json.h"

#include <gtest/gtest.h>

#include "runtimes/catalog.h"

namespace lambent::api {
namespace {

using nlohmann::json;

class LoggingConfigTest : public ::testing::Test {
 protected:
  // No Runtime in these bodies: the catalog is never asked.
  Result<ConfigFields> Parse(json logging) {
    return ParseConfigFields(json{{"LoggingConfig", std::move(logging)}}, catalog_);
  }
  // A function's LoggingConfig after `logging` was applied to `config`, or the error.
  Result<registry::LoggingConfig> Apply(json logging, registry::FunctionConfig config = Named()) {
    auto fields = Parse(std::move(logging));
    if (!fields) return tl::unexpected(fields.error());
    if (auto ok = CheckLoggingFields(*fields, config.logging); !ok)
      return tl::unexpected(ok.error());
    ApplyConfigFields(*fields, config);
    return config.logging;
  }
  static registry::FunctionConfig Named() {
    registry::FunctionConfig config;
    config.name = "fn";
    return config;
  }

  runtimes::Catalog catalog_ = runtimes::Catalog::Discover("/nonexistent");
};

TEST_F(LoggingConfigTest, JsonTakesLambdasDefaultLevelsAndTextDropsThem) {
  auto json_format = Apply({{"LogFormat", "JSON"}});
  ASSERT_TRUE(json_format) << json_format.error().message();
  EXPECT_EQ(*json_format, (registry::LoggingConfig{"JSON", "INFO", "INFO", ""}));

  registry::FunctionConfig config = Named();
  config.logging = {"JSON", "DEBUG", "WARN", "/custom"};
  auto merged = Apply({{"SystemLogLevel", "DEBUG"}}, config);
  ASSERT_TRUE(merged);
  EXPECT_EQ(*merged, (registry::LoggingConfig{"JSON", "DEBUG", "DEBUG", "/custom"}));
  auto text = Apply({{"LogFormat", "Text"}}, config);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, (registry::LoggingConfig{"Text", "", "", "/custom"}));
  // Naming the default group is the default.
  auto named = Apply({{"LogGroup", "/aws/lambda/fn"}}, config);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->log_group, "");
}

TEST_F(LoggingConfigTest, RefusesWhatLambdaRefuses) {
  auto message = [&](json logging) {
    auto applied = Apply(std::move(logging));
    EXPECT_FALSE(applied);
    return applied ? std::string() : applied.error().message();
  };
  EXPECT_EQ(message({{"LogFormat", "XML"}}),
            "1 validation error detected: Value 'XML' at 'loggingConfig.logFormat' failed to "
            "satisfy constraint: "
            "Member must satisfy enum value set: [JSON, Text]");
  EXPECT_NE(
      message({{"LogFormat", "JSON"}, {"ApplicationLogLevel", "info"}}).find("applicationLogLevel"),
      std::string::npos);
  EXPECT_NE(message({{"LogFormat", "JSON"}, {"SystemLogLevel", "ERROR"}}).find("systemLogLevel"),
            std::string::npos);
  EXPECT_TRUE(message({{"ApplicationLogLevel", "DEBUG"}})
                  .starts_with("LogLevel is not supported when LogFormat"));
  EXPECT_TRUE(
      message({{"LogFormat", "Text"}, {"SystemLogLevel", "WARN"}}).starts_with("LogLevel is not"));
  EXPECT_NE(message({{"LogGroup", "has space"}}).find("loggingConfig.logGroup"), std::string::npos);
  EXPECT_NE(message({{"LogGroup", ""}}).find("loggingConfig.logGroup"), std::string::npos);
  EXPECT_NE(message({{"LogGroup", std::string(513, 'a')}}).find("loggingConfig.logGroup"),
            std::string::npos);
  EXPECT_FALSE(Parse("JSON"));
  EXPECT_FALSE(Parse({{"LogFormat", 1}}));
}

}  // namespace
}  // namespace lambent::api
