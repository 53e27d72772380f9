#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace lambent::api {

// A request target split into decoded path segments and query parameters.
struct RequestTarget {
  std::vector<std::string> segments;  // "/a/b%3Ac/" -> {"a", "b:c"}
  std::map<std::string, std::string> query;

  std::optional<std::string> Query(const std::string& key) const {
    auto it = query.find(key);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
};
RequestTarget ParseTarget(std::string_view target);

// A function as an API path names it: "name", "name:qualifier", "account:function:name",
// or a full ARN, with an optional qualifier.
struct FunctionRef {
  std::string name;
  std::string qualifier;  // empty when not given
};
// kInvalidArgument when the reference is malformed or the name breaks Lambda's rule.
Result<FunctionRef> ParseFunctionRef(std::string_view text);

}  // namespace lambent::api
