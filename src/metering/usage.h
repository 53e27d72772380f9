#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "telemetry/invocation_record.h"

namespace lambent::metering {

// One invocation as the ledger keeps it: a row of the usage file.
struct UsageRecord {
  int64_t time_ms = 0;  // when it ended, epoch milliseconds
  std::string function;
  std::string version;
  std::string request_id;
  std::string source;     // "invoke", "stream", "event", "queue", "url"
  int64_t billed_ms = 0;  // the invoke phase, as the REPORT line's Billed Duration
  double duration_ms = 0;  // the invoke phase unrounded, as the REPORT line's Duration
  int memory_mb = 0;
  std::optional<double> init_ms;  // a cold start's init, as its REPORT line shows it
  int64_t init_billed_ms = 0;     // the init phase's share of the billed duration; 0: not billed
  bool provisioned = false;       // ran on a provisioned-concurrency environment
  std::string outcome;            // "success", "error", "timeout", "crash"
  std::string error_type;
  std::string trace_id;

  // Billed memory-time, MB x ms: GB-seconds x 1,024,000, exact in an integer.
  int64_t mb_ms() const { return (billed_ms + init_billed_ms) * int64_t(memory_mb); }
};

// Lambda's rule since 1 August 2025: the INIT phase of an on-demand invocation is billed, for
// every runtime and package type, as part of its duration (the cold start's init and invoke
// rounded up together to the next millisecond). A provisioned environment's init is paid
// for by its provisioned-concurrency time, never per invocation.
int64_t BilledInitMs(const telemetry::InvocationRecord& record);
UsageRecord ToUsageRecord(const telemetry::InvocationRecord& record);

// An invocation refused before it ran: counted, never billed.
struct ThrottleRecord {
  int64_t time_ms = 0;
  std::string function;
  std::string version;
  std::string reason;
};

// Provisioned environments that were ready (initialised and alive) for a while.
struct ProvisionedSample {
  int64_t time_ms = 0;  // the end of the period
  std::string function;
  std::string version;
  int memory_mb = 0;
  int concurrency = 0;      // environments ready
  int64_t duration_ms = 0;  // the period they were ready for

  int64_t mb_ms() const { return int64_t(concurrency) * memory_mb * duration_ms; }
};

enum class UsageGrouping { kTotal, kDay, kFunction, kVersion };

// Which usage a query adds up. Times are epoch milliseconds, [since, until).
struct UsageQuery {
  int64_t since_ms = 0;
  int64_t until_ms = std::numeric_limits<int64_t>::max();
  std::string function;  // empty: all
  std::string version;   // empty: all (needs `function`)
  UsageGrouping by = UsageGrouping::kTotal;
};

// What a set of invocations and provisioned environments used. Memory-time is kept in
// MB x ms (exact); GB-seconds are that / 1,024,000.
struct UsageFigures {
  int64_t requests = 0;  // invocations that ran (throttles excluded)
  int64_t errors = 0;    // of those, not "success"
  int64_t throttles = 0;
  int64_t cold_starts = 0;                    // invocations with an init phase
  int64_t billed_ms = 0;                      // invoke phases
  int64_t init_billed_ms = 0;                 // billed init phases
  int64_t on_demand_mb_ms = 0;                // invocations on on-demand environments
  int64_t provisioned_mb_ms = 0;              // invocations on provisioned environments
  int64_t provisioned_concurrency_mb_ms = 0;  // provisioned environments ready

  void Add(const UsageFigures& other);
  bool operator==(const UsageFigures&) const = default;
};

// One line of a grouped report: `day` ("YYYY-MM-DD", UTC), `function` and `version` are set
// as the grouping asks.
struct UsageRow {
  std::string day;
  std::string function;
  std::string version;
  UsageFigures figures;
};

struct UsageReport {
  std::vector<UsageRow> rows;  // sorted by their key; empty for kTotal
  UsageFigures totals;
};

}  // namespace lambent::metering
