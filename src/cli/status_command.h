#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lambent::cli {

// What `lambent status` prints, from the daemon's answers: `health` (GET /lambent/v1/health),
// `account` (GetAccountSettings; null when it failed) and `status` (GET /lambent/v1/status;
// null on a daemon without it, whose health "scaling" is printed instead). Reads either shape
// of the status's "functions": an object by function name, each with its "versions" (and
// "aliases", "reserved_concurrency"), or a list of one entry per function and version. Pure.
std::string FormatStatus(const std::string& endpoint, const nlohmann::json& health,
                         const nlohmann::json& account, const nlohmann::json& status);

}  // namespace lambent::cli
