#include "telemetry/report.h"

#include <cmath>

#include <fmt/format.h>

namespace lambent::telemetry {

std::string StartLine(const std::string& request_id, const std::string& version) {
  return fmt::format("START RequestId: {} Version: {}\n", request_id, version);
}

std::string EndLine(const std::string& request_id) {
  return fmt::format("END RequestId: {}\n", request_id);
}

int64_t BilledMs(double duration_ms) {
  return std::max<int64_t>(1, int64_t(std::ceil(duration_ms)));
}

std::string ReportLine(const Report& r) {
  std::string line = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
      "Max Memory Used: {} MB",
      // Since August 2025 Lambda bills an on-demand cold start's init with its invoke phase,
      // rounded up together, and its REPORT shows that sum (a provisioned init is billed with
      // the provisioned concurrency instead: its REPORT has no Init Duration).
      r.request_id, r.duration_ms, BilledMs(r.duration_ms + r.init_duration_ms.value_or(0)), r.memory_size_mb,
      r.max_memory_used_mb);
  if (r.init_duration_ms) line += fmt::format("\tInit Duration: {:.2f} ms", *r.init_duration_ms);
  if (r.timed_out) {
    line += "\tStatus: timeout";
  } else if (!r.error_type.empty()) {
    line += fmt::format("\tStatus: error\tError Type: {}", r.error_type);
  }
  line += '\n';
  return line;
}

}  // namespace lambent::telemetry
