#include "sqs/request_input.h"

#include <fmt/format.h>

#include <charconv>

#include "base/json.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

SqsError NotA(const char* name, const char* what) {
  return SqsError::InvalidParameterValue(fmt::format("The parameter {} must be {}.", name, what));
}

}  // namespace

std::optional<int64_t> ParseInteger(std::string_view text, bool allow_negative) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  if (text[0] == '-' && !allow_negative) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Checked<std::string> RequiredString(const json& input, const char* name) {
  auto value = OptionalString(input, name);
  if (!value) return tl::unexpected(value.error());
  if (!*value || (*value)->empty()) return tl::unexpected(SqsError::MissingParameter(name));
  return std::move(**value);
}

Checked<std::optional<std::string>> OptionalString(const json& input, const char* name) {
  auto it = input.find(name);
  if (it == input.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return tl::unexpected(NotA(name, "a string"));
  return std::optional<std::string>(it->get<std::string>());
}

Checked<std::optional<int64_t>> OptionalInt(const json& input, const char* name, int64_t min, int64_t max) {
  auto it = input.find(name);
  if (it == input.end() || it->is_null()) return std::optional<int64_t>();
  std::optional<int64_t> value;
  std::string shown;
  if (it->is_number_integer()) {
    value = it->get<int64_t>();
    shown = std::to_string(*value);
  } else if (it->is_string()) {
    shown = ValidUtf8(it->get_ref<const std::string&>());
    value = ParseInteger(shown, true);
  } else {
    shown = DumpJson(*it);
  }
  if (!value || *value < min || *value > max) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        fmt::format("Value {} for parameter {} is invalid. Reason: Must be between {} and {}, if provided.",
                    shown.substr(0, 64), name, min, max)));
  }
  return value;
}

Checked<std::vector<std::string>> StringList(const json& input, const char* name) {
  std::vector<std::string> out;
  auto it = input.find(name);
  if (it == input.end() || it->is_null()) return out;
  if (!it->is_array()) return tl::unexpected(NotA(name, "a list of strings"));
  for (const json& item : *it) {
    if (!item.is_string()) return tl::unexpected(NotA(name, "a list of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Checked<json> StringMap(const json& input, const char* name) {
  auto it = input.find(name);
  if (it == input.end() || it->is_null()) return json::object();
  if (!it->is_object()) return tl::unexpected(NotA(name, "a map of strings"));
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) return tl::unexpected(NotA(name, "a map of strings"));
  }
  return *it;
}

}  // namespace lambent::sqs
