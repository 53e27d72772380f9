#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "api/request_target.h"
#include "base/clock.h"
#include "http/server.h"
#include "metering/ledger.h"
#include "telemetry/log_store.h"

namespace lambent::api {

// The web dashboard: a fixed set of static files under /ui/ (index.html, app.js, style.css
// and the vendored chart library), read from the directory installed next to the binaries.
// Nothing outside that set is served, whatever the path says.

// Whether a request path (the target without its query) is the dashboard's: /ui or /ui/...
bool IsDashboardPath(std::string_view path);
// A browser asking for "/" (GET, Accept text/html) is sent to /ui/; API clients never are.
bool IsBrowserRoot(std::string_view path, const http::RequestHeader& header);
http::Response RedirectToDashboard();
// One of the dashboard's files with its content type, cache policy and ETag (304 when
// `if_none_match` names it); 404 for any other path. Blocking (reads a file): on the workers.
http::Response ServeDashboardFile(const std::filesystem::path& ui_dir, std::string_view path,
                                  std::string_view if_none_match);

// GET /lambent/v1/usage/series?function=NAME[:VERSION]&since=1h&until=&step=60: invocations,
// errors, throttles and p50/p99 duration per step (seconds), from the usage ledger.
// Times as metering::ParseUsageTime reads them; since defaults to 1h, until to now.
// Blocking (SQLite): on the workers.
http::Response GetUsageSeries(metering::Ledger& ledger, const RequestTarget& target,
                              int64_t now_ms = NowEpochMs());

// GET /lambent/v1/invocations?function=NAME[:VERSION]&limit=50: the newest invocations in the
// usage ledger, newest first (limit 1 to 200): time, function, version, request id, source,
// duration, billed ms, memory, init, outcome, error type, trace id.
// Blocking (SQLite): on the workers.
http::Response GetRecentInvocations(metering::Ledger& ledger, const RequestTarget& target);

// GET /lambent/v1/invocations/{request_id}/logs[?time=MS]: the log lines of that invocation
// (START to REPORT in its environment's stream), found through its usage record: within 5
// minutes of `time` (the record's, from the list), or else among the last hour's; 404 when
// the ledger has none there. Blocking (SQLite, the log files): on the workers.
http::Response GetInvocationLogs(metering::Ledger& ledger, telemetry::LogStore& logs, const std::string& request_id,
                                 const RequestTarget& target, int64_t now_ms = NowEpochMs());

}  // namespace lambent::api
