#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "sqs/sqs_error.h"

namespace lambent::sqs {

// Typed reads of an operation's input document (the JSON protocol's shape). Numbers may
// also come as decimal strings: that is how the query protocol carries them. Each read
// answers SQS's error for a missing or malformed member. Pure functions.

template <typename T>
using Checked = tl::expected<T, SqsError>;

// A non-empty string member, or MissingParameter.
Checked<std::string> RequiredString(const nlohmann::json& input, const char* name);
// A string member when present.
Checked<std::optional<std::string>> OptionalString(const nlohmann::json& input, const char* name);
// An integer member when present; InvalidParameterValue outside [min, max].
Checked<std::optional<int64_t>> OptionalInt(const nlohmann::json& input, const char* name, int64_t min, int64_t max);
// A list of strings; empty when absent.
Checked<std::vector<std::string>> StringList(const nlohmann::json& input, const char* name);
// A map of strings to strings as an object; empty when absent.
Checked<nlohmann::json> StringMap(const nlohmann::json& input, const char* name);
// A decimal integer, nothing else (no sign unless `allow_negative`, no spaces).
std::optional<int64_t> ParseInteger(std::string_view text, bool allow_negative = false);

}  // namespace lambent::sqs
