#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "metering/prices.h"
#include "metering/usage.h"

struct sqlite3;

namespace lambent::metering {

// Adds up what `query` selects from a usage file (the ledger's tables). Blocking; `db` is
// used by one thread at a time.
Result<UsageReport> QueryUsage(sqlite3* db, const UsageQuery& query);

// A time bound of a usage query, as epoch milliseconds: an epoch in milliseconds
// ("1764547200000"), a UTC date ("2026-12-01", its midnight), a UTC date and time
// ("2026-12-01T10:30", ":SS", ".mmm" and a trailing "Z" optional), or an age before `now_ms`
// ("90s", "15m", "2h", "7d").
Result<int64_t> ParseUsageTime(std::string_view text, int64_t now_ms);
// "day", "function", "version"; empty: totals only.
Result<UsageGrouping> ParseGrouping(std::string_view text);
const char* GroupingName(UsageGrouping by);

// The admin API's answer: the query, the prices, a row per group and the totals, each with
// its requests, errors, throttles, billed milliseconds, GB-seconds and cost by line item.
nlohmann::json UsageJson(const UsageQuery& query, const UsageReport& report,
                         const PriceTable& prices);

}  // namespace lambent::metering
