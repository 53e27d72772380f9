#pragma once

#include <cstdint>

#include "api/request_target.h"
#include "base/clock.h"
#include "http/server.h"
#include "metering/ledger.h"

namespace lambent::api {

// GET /lambent/v1/usage?since=&until=&function=&by=day|function|version: the usage ledger
// added up (requests, errors, throttles, billed milliseconds, GB-seconds) and priced with
// its price table. `function` is NAME or NAME:VERSION; times as metering::ParseUsageTime
// reads them, relative to `now_ms`. Blocking (SQLite, the price file): on the workers.
http::Response GetUsage(metering::Ledger& ledger, const RequestTarget& target,
                        int64_t now_ms = NowEpochMs());

}  // namespace lambent::api
