#include "api/request_target.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "base/encoding.h"
#include "registry/function_config.h"

namespace lambent::api {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string QueryDecode(std::string_view text) {
  std::string plus_as_space(text);
  for (auto& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  return PercentDecode(plus_as_space);
}

// Lambda's patterns: [a-z]{2}(-gov)?-[a-z]+-\d{1} and \d{12}.
bool IsRegion(std::string_view text) {
  static const std::regex kRegion(R"([a-z]{2}(-gov)?-[a-z]+-\d)");
  return std::regex_match(text.begin(), text.end(), kRegion);
}

bool IsAccount(std::string_view text) {
  return text.size() == 12 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

RequestTarget ParseTarget(std::string_view target) {
  RequestTarget out;
  auto question = target.find('?');
  std::string_view path = target.substr(0, question);
  for (auto segment : Split(path, '/')) {
    if (!segment.empty()) out.segments.push_back(PercentDecode(segment));
  }
  if (question != std::string_view::npos) {
    for (auto pair : Split(target.substr(question + 1), '&')) {
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      std::string key = QueryDecode(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : QueryDecode(pair.substr(eq + 1));
      out.query[key] = value;
      out.query_list.emplace_back(std::move(key), std::move(value));
    }
  }
  return out;
}

Result<FunctionRef> ParseFunctionRef(std::string_view text) {
  auto parts = Split(text, ':');
  FunctionRef ref;
  auto bad = [&] {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'functionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?"
        "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        text)));
  };
  if (parts.size() >= 7 && parts[0] == "arn") {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    if (!parts[1].starts_with("aws") || parts[2] != "lambda" || parts[5] != "function" ||
        parts.size() > 8 || !IsRegion(parts[3]) || !IsAccount(parts[4])) {
      return bad();
    }
    ref.region = parts[3];
    ref.account = parts[4];
    ref.name = parts[6];
    if (parts.size() == 8) ref.qualifier = parts[7];
  } else if (parts.size() >= 3 && parts[1] == "function") {
    // account:function:name[:qualifier]
    if (parts.size() > 4 || !IsAccount(parts[0])) return bad();
    ref.account = parts[0];
    ref.name = parts[2];
    if (parts.size() == 4) ref.qualifier = parts[3];
  } else if (parts.size() <= 2) {
    ref.name = parts[0];
    if (parts.size() == 2) ref.qualifier = parts[1];
  } else {
    return bad();
  }
  if (!registry::IsValidFunctionName(ref.name)) return bad();
  if (parts.size() == 2 || parts.size() == 4 || parts.size() == 8) {
    if (ref.qualifier.empty()) return bad();
  }
  return ref;
}

RefScope ScopeOf(const FunctionRef& ref, std::string_view region, std::string_view account) {
  if (!ref.region.empty() && ref.region != region) return RefScope::kOtherRegion;
  if (!ref.account.empty() && ref.account != account) return RefScope::kOtherAccount;
  return RefScope::kThisAccount;
}

}  // namespace lambent::api
