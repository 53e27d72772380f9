#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace lambent::api {

// A request target split into decoded path segments and query parameters.
struct RequestTarget {
  std::vector<std::string> segments;  // "/a/b%3Ac/" -> {"a", "b:c"}
  std::map<std::string, std::string> query;  // the last value of each key
  // Every parameter in order, repeated keys included (UntagResource's tagKeys=a&tagKeys=b).
  std::vector<std::pair<std::string, std::string>> query_list;

  std::optional<std::string> Query(const std::string& key) const {
    auto it = query.find(key);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
  // Every value of a repeated key, in order; empty when absent.
  std::vector<std::string> QueryAll(const std::string& key) const {
    std::vector<std::string> values;
    for (const auto& [k, v] : query_list) {
      if (k == key) values.push_back(v);
    }
    return values;
  }
};
RequestTarget ParseTarget(std::string_view target);

// A function as an API path names it: "name", "name:qualifier", "account:function:name",
// or a full ARN, with an optional qualifier.
struct FunctionRef {
  std::string name;
  std::string qualifier;  // empty when not given
  std::string region;     // as an ARN names it; empty when not given
  std::string account;    // as an ARN or "account:function:name" names it; empty when not given
};
// kInvalidArgument when the reference is malformed or the name breaks Lambda's rule.
Result<FunctionRef> ParseFunctionRef(std::string_view text);

// Whether a reference is about this daemon's region and account. Lambda does not serve an
// ARN of another region from this one, nor one of another account without its permission.
enum class RefScope { kThisAccount, kOtherRegion, kOtherAccount };
RefScope ScopeOf(const FunctionRef& ref, std::string_view region, std::string_view account);

}  // namespace lambent::api
