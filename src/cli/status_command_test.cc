#include "cli/status_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lambent::cli {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const json kHealth = {{"status", "ok"}, {"environments", 3}};
const json kAccount = {{"AccountUsage", {{"FunctionCount", 2}, {"TotalCodeSize", 1234}}}};
const json kHost = {{"memory_budget_mb", 1024},
                    {"memory_in_use_mb", 256},
                    {"concurrency_limit", 1000},
                    {"unreserved_floor", 100},
                    {"running", 1},
                    {"prestarted", 1},
                    {"evictions", 2},
                    {"environments", 3}};

TEST(FormatStatus, ShowsTheHostsMemoryBudgetAndConcurrency) {
  std::string out =
      FormatStatus("http://d", kHealth, kAccount, {{"host", kHost}, {"functions", json::object()}});
  EXPECT_THAT(out, HasSubstr("http://d (ok)"));
  EXPECT_THAT(out, HasSubstr("functions      2 (1234 bytes of code)"));
  EXPECT_THAT(out, HasSubstr("256 of 1024 MB budget in use (25%), 2 idle environment(s) evicted"));
  EXPECT_THAT(out, HasSubstr("1 running of 1000 (at least 100 kept unreserved)"));
  EXPECT_THAT(out, HasSubstr("environments   3 (1 prestarted)"));
}

TEST(FormatStatus, ShowsEachVersionOfAFunctionByNameWithItsLimitsAndAliases) {
  json functions = {
      {"fn",
       {{"reserved_concurrency", 5},
        {"aliases",
         {{"prod", {{"version", "2"}, {"additional_version", "1"}, {"additional_weight", 0.1}}}}},
        {"versions",
         {{"2",
           {{"busy", 1},
            {"idle", 0},
            {"provisioned", 3},
            {"throttles", 7},
            {"cold_starts", 1},
            {"memory_mb", 512},
            {"policy", "scale out"},
            {"provisioned_requested", 3},
            {"provisioned_status", "READY"}}},
          {"$LATEST",
           {{"busy", 0},
            {"idle", 1},
            {"policy", "scale out"},
            {"warm_ms", 0.5},
            {"cold_ms", 20.25}}}}}}},
      {"quiet", {{"reserved_concurrency", nullptr}, {"versions", json::object()}}}};
  std::string out =
      FormatStatus("http://d", kHealth, kAccount, {{"host", kHost}, {"functions", functions}});
  // $LATEST before the numbered versions.
  auto latest = out.find("fn                           $LATEST");
  auto two = out.find("fn                           2 ");
  ASSERT_NE(latest, std::string::npos) << out;
  ASSERT_NE(two, std::string::npos) << out;
  EXPECT_LT(latest, two);
  EXPECT_THAT(out, HasSubstr("3 READY"));
  EXPECT_THAT(out, HasSubstr("alias          fn: prod -> 2 (10% to 1)"));
  EXPECT_THAT(out,
              HasSubstr("scaling        fn: 0 busy, 1 idle, 0 starting, 0 waiting; scale out"));
  EXPECT_THAT(out, HasSubstr("scaling        fn:2: 1 busy, 0 idle"));
  EXPECT_THAT(out, HasSubstr("quiet"));
  EXPECT_THAT(out, HasSubstr("20.2"));
}

TEST(FormatStatus, ReadsAListOfVersionEntriesToo) {
  json functions = json::array({{{"function", "fn"},
                                 {"version", "3"},
                                 {"busy", 2},
                                 {"reserved_concurrency", 4},
                                 {"provisioned_concurrency", 2},
                                 {"policy", "scale out"}}});
  std::string out =
      FormatStatus("http://d", kHealth, nullptr, {{"host", kHost}, {"functions", functions}});
  EXPECT_THAT(out, HasSubstr("scaling        fn:3: 2 busy"));
  EXPECT_THAT(out, Not(HasSubstr("functions      ")));
}

TEST(FormatStatus, FallsBackToTheHealthScalingOfAnOlderDaemon) {
  json health = {
      {"status", "ok"},
      {"environments", 1},
      {"scaling",
       {{"fn", {{"busy", 0}, {"idle", 1}, {"starting", 0}, {"queued", 0}, {"policy", "p"}}}}}};
  std::string out = FormatStatus("http://d", health, kAccount, nullptr);
  EXPECT_THAT(out, HasSubstr("environments   1"));
  EXPECT_THAT(out, HasSubstr("scaling        fn: 0 busy, 1 idle, 0 starting, 0 waiting; p"));
}

}  // namespace
}  // namespace lambent::cli
