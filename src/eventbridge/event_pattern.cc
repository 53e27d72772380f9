#include "eventbridge/event_pattern.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <string>

namespace lambent::eventbridge {

using nlohmann::json;

namespace {

Error Invalid(std::string_view reason) {
  return Error::Invalid("Event pattern is not valid. Reason: " + std::string(reason));
}

bool IsScalar(const json& v) { return v.is_string() || v.is_number() || v.is_boolean() || v.is_null(); }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An IP address as 16 bytes (IPv4 mapped into IPv6's space) or nullopt.
std::optional<std::array<uint8_t, 16>> ParseIp(const std::string& text) {
  std::array<uint8_t, 16> bytes{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    bytes[10] = bytes[11] = 0xff;
    std::memcpy(&bytes[12], &v4, 4);
    return bytes;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
    return bytes;
  }
  return std::nullopt;
}

struct Cidr {
  std::array<uint8_t, 16> base;
  int bits;  // of the 128
};

std::optional<Cidr> ParseCidr(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string address = text.substr(0, slash);
  auto ip = ParseIp(address);
  if (!ip) return std::nullopt;
  bool v4 = address.find(':') == std::string::npos;
  int len = 0;
  std::string bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) return std::nullopt;
  len = std::stoi(bits);
  if (len > (v4 ? 32 : 128)) return std::nullopt;
  return Cidr{*ip, v4 ? len + 96 : len};
}

bool InCidr(const Cidr& cidr, const std::array<uint8_t, 16>& ip) {
  for (int i = 0; i < cidr.bits; ++i) {
    int byte = i / 8;
    int mask = 0x80 >> (i % 8);
    if ((cidr.base[size_t(byte)] & mask) != (ip[size_t(byte)] & mask)) return false;
  }
  return true;
}

// `*` matches any run of characters; `\*` a star, `\\` a backslash.
bool WildcardMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
      continue;
    }
    if (p < pattern.size()) {
      char want = pattern[p];
      size_t step = 1;
      if (want == '\\' && p + 1 < pattern.size()) {
        want = pattern[p + 1];
        step = 2;
      }
      if (want == text[t]) {
        p += step;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    p = star + 1;
    t = ++resume;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// A string operand, or {"equals-ignore-case": string} where `ignore_case_allowed`.
Result<void> CheckStringOperand(const json& operand, std::string_view op, bool ignore_case_allowed) {
  if (operand.is_string()) return Ok();
  if (ignore_case_allowed && operand.is_object() && operand.size() == 1 && operand.contains("equals-ignore-case") &&
      operand["equals-ignore-case"].is_string()) {
    return Ok();
  }
  return tl::unexpected(Invalid(std::string(op) + " match pattern must be a string"));
}

Result<void> CheckWildcard(const json& operand) {
  if (!operand.is_string()) return tl::unexpected(Invalid("wildcard match pattern must be a string"));
  if (operand.get<std::string>().find("**") != std::string::npos) {
    return tl::unexpected(Invalid("consecutive wildcard characters are not allowed"));
  }
  return Ok();
}

Result<void> CheckNumeric(const json& operand) {
  if (!operand.is_array() || (operand.size() != 2 && operand.size() != 4)) {
    return tl::unexpected(Invalid("numeric match needs one or two comparisons"));
  }
  for (size_t i = 0; i < operand.size(); i += 2) {
    const json& op = operand[i];
    if (!op.is_string() || !operand[i + 1].is_number()) {
      return tl::unexpected(Invalid("numeric match takes an operator and a number"));
    }
    std::string o = op.get<std::string>();
    if (o != "=" && o != "<" && o != "<=" && o != ">" && o != ">=") {
      return tl::unexpected(Invalid("unrecognized numeric range operator: " + o));
    }
  }
  if (operand.size() == 4) {
    std::string lower = operand[0].get<std::string>();
    std::string upper = operand[2].get<std::string>();
    if ((lower != ">" && lower != ">=") || (upper != "<" && upper != "<=")) {
      return tl::unexpected(Invalid("a numeric range takes a lower bound (> or >=) then an upper one (< or <=)"));
    }
    if (operand[1].get<double>() >= operand[3].get<double>()) {
      return tl::unexpected(Invalid("bottom must be less than top"));
    }
  }
  return Ok();
}

Result<void> CheckAnythingBut(const json& operand) {
  if (operand.is_string() || operand.is_number()) return Ok();
  if (operand.is_array()) {
    if (operand.empty()) return tl::unexpected(Invalid("anything-but list cannot be empty"));
    bool strings = operand[0].is_string();
    for (const json& v : operand) {
      if (!(v.is_string() || v.is_number()) || v.is_string() != strings) {
        return tl::unexpected(Invalid("anything-but list must be all strings or all numbers"));
      }
    }
    return Ok();
  }
  if (operand.is_object() && operand.size() == 1) {
    const std::string& op = operand.begin().key();
    const json& value = operand.begin().value();
    if (op == "prefix" || op == "suffix") return CheckStringOperand(value, op, false);
    if (op == "wildcard") {
      if (value.is_array()) {
        for (const json& v : value) {
          if (auto ok = CheckWildcard(v); !ok) return ok;
        }
        return Ok();
      }
      return CheckWildcard(value);
    }
    if (op == "equals-ignore-case") {
      if (value.is_string()) return Ok();
      if (value.is_array() && !value.empty() &&
          std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
        return Ok();
      }
      return tl::unexpected(Invalid("equals-ignore-case match pattern must be a string or a list of strings"));
    }
  }
  return tl::unexpected(Invalid("unsupported anything-but pattern"));
}

Result<void> CheckCondition(const json& condition) {
  if (IsScalar(condition)) return Ok();
  if (!condition.is_object() || condition.size() != 1) {
    return tl::unexpected(Invalid("a match condition is a value or an object with one operator"));
  }
  const std::string& op = condition.begin().key();
  const json& operand = condition.begin().value();
  if (op == "prefix" || op == "suffix") return CheckStringOperand(operand, op, true);
  if (op == "equals-ignore-case") return CheckStringOperand(operand, op, false);
  if (op == "wildcard") return CheckWildcard(operand);
  if (op == "anything-but") return CheckAnythingBut(operand);
  if (op == "numeric") return CheckNumeric(operand);
  if (op == "exists") {
    if (!operand.is_boolean()) return tl::unexpected(Invalid("exists match pattern must be either true or false"));
    return Ok();
  }
  if (op == "cidr") {
    if (!operand.is_string() || !ParseCidr(operand.get<std::string>())) {
      return tl::unexpected(Invalid("malformed CIDR, one '/' required"));
    }
    return Ok();
  }
  return tl::unexpected(Invalid("unrecognized match type " + op));
}

Result<void> CheckObject(const json& pattern) {
  if (!pattern.is_object()) return tl::unexpected(Invalid("the pattern must be a JSON object"));
  if (pattern.empty()) return tl::unexpected(Invalid("empty objects are not allowed"));
  for (auto it = pattern.begin(); it != pattern.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "$or") {
      if (!value.is_array() || value.size() < 2) {
        return tl::unexpected(Invalid("$or needs an array of at least two patterns"));
      }
      for (const json& alternative : value) {
        if (auto ok = CheckObject(alternative); !ok) return ok;
      }
    } else if (value.is_object()) {
      if (auto ok = CheckObject(value); !ok) return ok;
    } else if (value.is_array()) {
      if (value.empty()) return tl::unexpected(Invalid("empty arrays are not allowed"));
      for (const json& condition : value) {
        if (auto ok = CheckCondition(condition); !ok) return ok;
      }
    } else {
      return tl::unexpected(Invalid("match value for \"" + key + "\" must be an object or an array"));
    }
  }
  return Ok();
}

bool StringOp(const json& operand, const std::string& value, bool prefix) {
  std::string want;
  bool ignore_case = operand.is_object();
  want = ignore_case ? operand["equals-ignore-case"].get<std::string>() : operand.get<std::string>();
  std::string have = ignore_case ? Lower(value) : value;
  if (ignore_case) want = Lower(want);
  return prefix ? std::string_view(have).starts_with(want) : std::string_view(have).ends_with(want);
}

bool SameScalar(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  if (a.is_number() || b.is_number()) return false;
  return a == b;
}

bool Compare(const std::string& op, double value, double bound) {
  if (op == "=") return value == bound;
  if (op == "<") return value < bound;
  if (op == "<=") return value <= bound;
  if (op == ">") return value > bound;
  return value >= bound;
}

bool AnythingBut(const json& operand, const json& value) {
  if (operand.is_array()) {
    return std::none_of(operand.begin(), operand.end(), [&](const json& v) { return SameScalar(v, value); });
  }
  if (!operand.is_object()) return !SameScalar(operand, value);
  const std::string& op = operand.begin().key();
  const json& arg = operand.begin().value();
  if (!value.is_string()) return false;
  const std::string text = value.get<std::string>();
  if (op == "prefix") return !std::string_view(text).starts_with(arg.get<std::string>());
  if (op == "suffix") return !std::string_view(text).ends_with(arg.get<std::string>());
  if (op == "wildcard") {
    if (arg.is_array()) {
      return std::none_of(arg.begin(), arg.end(), [&](const json& p) { return WildcardMatch(p.get<std::string>(), text); });
    }
    return !WildcardMatch(arg.get<std::string>(), text);
  }
  // equals-ignore-case
  std::string lower = Lower(text);
  if (arg.is_array()) {
    return std::none_of(arg.begin(), arg.end(), [&](const json& v) { return Lower(v.get<std::string>()) == lower; });
  }
  return Lower(arg.get<std::string>()) != lower;
}

bool ConditionMatches(const json& condition, const json& value) {
  if (IsScalar(condition)) return SameScalar(condition, value);
  const std::string& op = condition.begin().key();
  const json& operand = condition.begin().value();
  if (op == "anything-but") return AnythingBut(operand, value);
  if (op == "numeric") {
    if (!value.is_number()) return false;
    double v = value.get<double>();
    for (size_t i = 0; i < operand.size(); i += 2) {
      if (!Compare(operand[i].get<std::string>(), v, operand[i + 1].get<double>())) return false;
    }
    return true;
  }
  if (!value.is_string()) return false;
  const std::string text = value.get<std::string>();
  if (op == "prefix") return StringOp(operand, text, true);
  if (op == "suffix") return StringOp(operand, text, false);
  if (op == "equals-ignore-case") return Lower(operand.get<std::string>()) == Lower(text);
  if (op == "wildcard") return WildcardMatch(operand.get<std::string>(), text);
  if (op == "cidr") {
    auto cidr = ParseCidr(operand.get<std::string>());
    auto ip = ParseIp(text);
    return cidr && ip && InCidr(*cidr, *ip);
  }
  return false;
}

bool LeafMatches(const json& conditions, const json* field) {
  // The values a leaf has: none when absent, each element of an array, or the one value.
  std::vector<const json*> values;
  if (field && field->is_array()) {
    for (const json& element : *field) values.push_back(&element);
  } else if (field) {
    values.push_back(field);
  }
  for (const json& condition : conditions) {
    if (condition.is_object() && condition.contains("exists")) {
      bool present = !values.empty() && !(field->is_object());
      if (condition["exists"].get<bool>() == present) return true;
      continue;
    }
    for (const json* value : values) {
      if (!value->is_object() && !value->is_array() && ConditionMatches(condition, *value)) return true;
    }
  }
  return false;
}

bool ObjectMatches(const json& pattern, const json& event) {
  for (auto it = pattern.begin(); it != pattern.end(); ++it) {
    const std::string& key = it.key();
    const json& sub = it.value();
    if (key == "$or") {
      if (std::none_of(sub.begin(), sub.end(), [&](const json& alt) { return ObjectMatches(alt, event); })) {
        return false;
      }
      continue;
    }
    const json* field = nullptr;
    if (event.is_object()) {
      if (auto found = event.find(key); found != event.end()) field = &*found;
    }
    if (sub.is_array()) {
      if (!LeafMatches(sub, field)) return false;
      continue;
    }
    if (!field) return false;
    if (field->is_object()) {
      if (!ObjectMatches(sub, *field)) return false;
    } else if (field->is_array()) {
      if (std::none_of(field->begin(), field->end(),
                       [&](const json& element) { return element.is_object() && ObjectMatches(sub, element); })) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<EventPattern> EventPattern::Parse(std::string_view text) {
  json pattern = json::parse(text, nullptr, false);
  if (pattern.is_discarded()) return tl::unexpected(Invalid("the pattern is not valid JSON"));
  if (auto ok = CheckObject(pattern); !ok) return tl::unexpected(ok.error());
  return EventPattern(std::move(pattern));
}

bool EventPattern::Matches(const json& event) const { return ObjectMatches(pattern_, event); }

}  // namespace lambent::eventbridge
