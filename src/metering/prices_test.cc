#include "metering/prices.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lambent::metering {
namespace {

TEST(Prices, DefaultToLambdasPublishedX86OnDemandPrices) {
  PriceTable prices;
  EXPECT_DOUBLE_EQ(prices.requests_per_million, 0.20);
  EXPECT_DOUBLE_EQ(prices.duration_gb_second, 0.0000166667);
  EXPECT_DOUBLE_EQ(prices.provisioned_concurrency_gb_second, 0.0000041667);
  EXPECT_DOUBLE_EQ(prices.provisioned_duration_gb_second, 0.0000097222);
}

TEST(Prices, AFileReplacesOnlyThePricesItGives) {
  auto prices = ParsePrices(R"({"duration_gb_second": 0.0000133334, "requests_per_million": 0})");
  ASSERT_TRUE(prices) << prices.error().message();
  EXPECT_DOUBLE_EQ(prices->duration_gb_second, 0.0000133334);
  EXPECT_DOUBLE_EQ(prices->requests_per_million, 0);
  EXPECT_DOUBLE_EQ(prices->provisioned_concurrency_gb_second, 0.0000041667);
}

TEST(Prices, RefusesUnknownKeysNegativePricesAndNonObjects) {
  auto typo = ParsePrices(R"({"duration_gb_seconds": 1})");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message().find("unknown key 'duration_gb_seconds'"), std::string::npos);
  EXPECT_FALSE(ParsePrices(R"({"duration_gb_second": -1})"));
  EXPECT_FALSE(ParsePrices(R"({"duration_gb_second": "1"})"));
  EXPECT_FALSE(ParsePrices("[1]"));
  EXPECT_FALSE(ParsePrices("{"));
}

TEST(Prices, AMissingFileMeansTheDefaults) {
  auto dir = std::filesystem::temp_directory_path() / ("prices-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto prices = LoadPrices(dir / "prices.json");
  ASSERT_TRUE(prices);
  EXPECT_EQ(*prices, PriceTable{});
  std::ofstream(dir / "prices.json") << R"({"provisioned_duration_gb_second": 0.5})";
  prices = LoadPrices(dir / "prices.json");
  ASSERT_TRUE(prices);
  EXPECT_DOUBLE_EQ(prices->provisioned_duration_gb_second, 0.5);
  std::ofstream(dir / "prices.json") << R"({"bogus": 1})";
  auto bad = LoadPrices(dir / "prices.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("prices.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Prices, CostIsEachLineItemTimesItsPrice) {
  UsageFigures figures;
  figures.requests = 2'000'000;
  figures.on_demand_mb_ms = 1024 * 1000 * 100;                 // 100 GB-s
  figures.provisioned_mb_ms = 1024 * 1000 * 10;                // 10 GB-s
  figures.provisioned_concurrency_mb_ms = 1024 * 1000 * 1000;  // 1,000 GB-s
  UsageCost cost = Cost(figures, PriceTable{});
  EXPECT_DOUBLE_EQ(cost.requests, 0.40);
  EXPECT_DOUBLE_EQ(cost.duration, 100 * 0.0000166667);
  EXPECT_DOUBLE_EQ(cost.provisioned_duration, 10 * 0.0000097222);
  EXPECT_DOUBLE_EQ(cost.provisioned_concurrency, 1000 * 0.0000041667);
  EXPECT_DOUBLE_EQ(cost.total, cost.requests + cost.duration + cost.provisioned_duration +
                                   cost.provisioned_concurrency);
  EXPECT_DOUBLE_EQ(GbSeconds(128 * 1000), 0.125);
}

}  // namespace
}  // namespace lambent::metering
