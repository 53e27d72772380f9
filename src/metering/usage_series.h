#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"

struct sqlite3;

namespace lambent::metering {

// One function's (or every function's) invocations in fixed steps of time, for charts.
// Times are epoch milliseconds, [since, until).
struct SeriesQuery {
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  int64_t step_ms = 60'000;
  std::string function;  // empty: all
  std::string version;   // empty: all (needs `function`)
};

// Percentiles of the invoke phase's duration as the REPORT line's Duration gives it; rows
// written before the ledger kept it count with their billed duration (whole milliseconds).
struct SeriesPoint {
  int64_t start_ms = 0;
  int64_t invocations = 0;
  int64_t errors = 0;  // not "success"
  int64_t throttles = 0;
  double p50_ms = 0;  // 0 in a step without invocations
  double p99_ms = 0;
};

// More points than this are refused: a query covers at most this many steps.
inline constexpr int64_t kMaxSeriesPoints = 1440;

// Every step of [since, until) once, empty ones included, oldest first. Blocking; `db` is
// used by one thread at a time.
Result<std::vector<SeriesPoint>> QueryUsageSeries(sqlite3* db, const SeriesQuery& query);

// Checks a query's window and step (at least a second, at most kMaxSeriesPoints steps).
Result<void> ValidateSeriesQuery(const SeriesQuery& query);

// {"since","until","step_ms","function","version","points":[{"t","invocations","errors",
// "throttles","p50_ms","p99_ms"}]}
nlohmann::json SeriesJson(const SeriesQuery& query, const std::vector<SeriesPoint>& points);

}  // namespace lambent::metering
