#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace lambent::eventbridge {

// An EventBridge event pattern: a JSON object shaped like the events it matches, whose
// leaves are arrays of conditions, any of which may match (OR), while every field must
// match (AND). Conditions: exact strings, numbers, true, false and null; prefix and suffix
// (optionally {"equals-ignore-case": ...}); equals-ignore-case; wildcard (`*`, `\*` for a
// star); anything-but (a value, a list, or prefix / suffix / equals-ignore-case /
// wildcard); numeric ranges ("=", "<", "<=", ">", ">=", one or two bounds); exists; cidr
// (IPv4 and IPv6); and "$or" between sub-patterns. Where the event has an array, a
// condition matches when it matches any element. Immutable once parsed; thread-safe.
class EventPattern {
 public:
  // kInvalidArgument ("Event pattern is not valid. Reason: ...") for anything else.
  static Result<EventPattern> Parse(std::string_view text);

  bool Matches(const nlohmann::json& event) const;

 private:
  explicit EventPattern(nlohmann::json pattern) : pattern_(std::move(pattern)) {}
  nlohmann::json pattern_;
};

}  // namespace lambent::eventbridge
