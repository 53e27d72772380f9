#include "base/clock.h"

#include <ctime>

#include <fmt/format.h>

namespace lambent {

int64_t NowEpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatLambdaTimestamp(int64_t epoch_ms) {
  time_t secs = epoch_ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     epoch_ms % 1000);
}

std::string FormatDatePath(int64_t epoch_ms) {
  time_t secs = epoch_ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}/{:02}/{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace lambent
