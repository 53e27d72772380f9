#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "logs/filter_pattern.h"
#include "telemetry/log_store.h"

namespace lambent::logs {

// A function's lines at or after `since_ms` that `pattern` matches, as `lambent logs` prints
// them: the last `tail` of them (all when 0), each with its time first when `timestamps`.
// kNotFound when the function has no log.
Result<std::string> SelectLines(telemetry::LogStore& store, const std::string& function, int64_t since_ms,
                                const FilterPattern& pattern, size_t tail, bool timestamps);

}  // namespace lambent::logs
