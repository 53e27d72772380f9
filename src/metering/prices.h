#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/error.h"
#include "metering/usage.h"

namespace lambent::metering {

// What usage costs, in US dollars. The defaults are Lambda's published x86 on-demand prices
// in US East (N. Virginia), first duration tier (aws.amazon.com/lambda/pricing).
struct PriceTable {
  double requests_per_million = 0.20;
  double duration_gb_second = 0.0000166667;
  // Provisioned concurrency: the environments kept ready, per GB-second while configured...
  double provisioned_concurrency_gb_second = 0.0000041667;
  // ...and the lower duration rate of the invocations that run on them.
  double provisioned_duration_gb_second = 0.0000097222;

  bool operator==(const PriceTable&) const = default;
};

// A price table from a JSON document such as {"duration_gb_second": 0.0000133334}: the keys
// it gives replace the defaults. An unknown key or a negative or non-numeric price is an
// error (a typo must not silently bill at the default).
// What usage costs by line item, in US dollars.
struct UsageCost {
  double requests = 0;
  double duration = 0;                 // on-demand invocations
  double provisioned_duration = 0;     // invocations on provisioned environments
  double provisioned_concurrency = 0;  // provisioned environments kept ready
  double total = 0;
};
UsageCost Cost(const UsageFigures& figures, const PriceTable& prices);
// MB x ms as GB-seconds (Lambda's GB is 1,024 MB).
double GbSeconds(int64_t mb_ms);

Result<PriceTable> ParsePrices(std::string_view text);
// The table in `path`, or the defaults when there is no such file. Blocking (reads a file).
Result<PriceTable> LoadPrices(const std::filesystem::path& path);
nlohmann::json PricesJson(const PriceTable& prices);

}  // namespace lambent::metering
