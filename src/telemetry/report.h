#pragma once

#include <optional>
#include <string>

namespace lambent::telemetry {

// The figures of one invocation's REPORT line.
struct Report {
  std::string request_id;
  double duration_ms = 0;
  int memory_size_mb = 0;
  int64_t max_memory_used_mb = 0;
  std::optional<double> init_duration_ms;  // cold starts only
  bool timed_out = false;
  std::string error_type;  // set when the environment failed: "Status: error" with its type
};

std::string StartLine(const std::string& request_id, const std::string& version);
std::string EndLine(const std::string& request_id);
// Lambda bills every started millisecond, with no minimum beyond 1 ms. A REPORT line's Billed
// Duration is that of the duration plus a cold start's Init Duration.
int64_t BilledMs(double duration_ms);
std::string ReportLine(const Report& report);

}  // namespace lambent::telemetry
