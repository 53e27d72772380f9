#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "metering/usage.h"

// Single invocations read back from the usage file: the dashboard's "recent invocations".
namespace lambent::metering {

struct RecentQuery {
  std::string function;  // empty: all
  std::string version;   // empty: all (needs `function`)
  int limit = 50;        // newest first
};

// The newest invocations `query` selects, newest first. Walks the time index backwards, so
// the cost is the rows it returns (plus those it skips for a function filter).
Result<std::vector<UsageRecord>> QueryRecent(sqlite3* db, const RecentQuery& query);

// The invocation with `request_id` (its last record, should an async retry have used the id
// more than once) among the records of [since_ms, until_ms] (walked through the time index:
// there is no index by request id); nullopt when there is none.
Result<std::optional<UsageRecord>> FindInvocation(sqlite3* db, const std::string& request_id, int64_t since_ms,
                                                  int64_t until_ms);

}  // namespace lambent::metering
