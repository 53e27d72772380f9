#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lambent {

using SteadyTime = std::chrono::steady_clock::time_point;

// Milliseconds since the Unix epoch, wall clock.
int64_t NowEpochMs();
// Lambda's LastModified format: "2024-01-01T00:00:00.000+0000".
std::string FormatLambdaTimestamp(int64_t epoch_ms);
// "YYYY/MM/DD" in UTC, as log stream names start.
std::string FormatDatePath(int64_t epoch_ms);

}  // namespace lambent
