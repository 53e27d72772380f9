#pragma once

#include <cstdint>
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

// How the platform writes its own lines for a function: LoggingConfig's LogFormat and
// SystemLogLevel. A plain value, built once per environment.
struct PlatformLogFormat {
  bool json = false;
  // Lambda's system records are all INFO (platform.start, platform.report): a SystemLogLevel
  // of WARN filters them out.
  bool info_records = true;

  // From LoggingConfig's fields ("Text"/"JSON"; "DEBUG"/"INFO"/"WARN", "" meaning INFO).
  static PlatformLogFormat Of(const std::string& log_format, const std::string& system_log_level);
};

// The line that opens an invocation: Text's START line, or JSON's platform.start record
// carrying the trace header `trace_id` (none when empty); "" when filtered out.
std::string PlatformStart(const PlatformLogFormat& format, const std::string& request_id,
                          const std::string& version, const std::string& trace_id, int64_t now_ms);
// The lines that close one: Text's END and REPORT lines, or JSON's platform.report record
// (which has no END); "" when filtered out.
std::string PlatformEnd(const PlatformLogFormat& format, const Report& report, int64_t now_ms);
// A timeout's own line in Text ("<time> <id> Task timed out after N.00 seconds"); JSON says
// it in platform.report's status instead, so "" there.
std::string TimeoutLine(const PlatformLogFormat& format, const std::string& request_id,
                        int timeout_s, int64_t now_ms);

// The JSON records alone, for tests and callers that chose the format already.
std::string StartRecord(const std::string& request_id, const std::string& version,
                        const std::string& trace_id, int64_t now_ms);
std::string ReportRecord(const Report& report, int64_t now_ms);

}  // namespace lambent::telemetry
