#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metering/usage.h"
#include "telemetry/log_store.h"

// One invocation's log lines, found from its usage record: the dashboard's "recent
// invocations" shows them when one is chosen.
namespace lambent::metering {

// The lines of `events` (one function's, oldest first) that `request_id` wrote: from its START
// line (text, or a JSON platform.start record) to its REPORT line (or platform.report), in the
// log stream of the environment that ran it, lines of other streams left out. Without a START
// line among them (cut by retention, or a system log level that hides it), the lines that
// name the request id. Pure.
std::vector<telemetry::LogEvent> SelectInvocationLines(const std::vector<telemetry::LogEvent>& events,
                                                       const std::string& request_id);

// Reads `record`'s lines from `logs`: only the window since the invocation started (its end
// less its duration and init, with a margin for clocks), so the cost is what was logged
// since then, not the whole log. Blocking (reads the files): never on the io thread.
Result<std::vector<telemetry::LogEvent>> InvocationLines(telemetry::LogStore& logs, const UsageRecord& record);

}  // namespace lambent::metering
