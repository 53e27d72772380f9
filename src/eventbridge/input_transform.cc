#include "eventbridge/input_transform.h"

#include <cctype>

#include "base/json.h"

namespace lambent::eventbridge {

using nlohmann::json;

std::optional<json> JsonPathValue(const json& document, std::string_view path) {
  if (!path.starts_with("$")) return std::nullopt;
  const json* at = &document;
  size_t i = 1;
  while (i < path.size()) {
    std::string key;
    std::optional<size_t> index;
    if (path[i] == '.') {
      size_t end = i + 1;
      while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
      key = std::string(path.substr(i + 1, end - i - 1));
      if (key.empty()) return std::nullopt;
      i = end;
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos) return std::nullopt;
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') && inner.back() == inner.front()) {
        key = std::string(inner.substr(1, inner.size() - 2));
      } else if (!inner.empty() && std::all_of(inner.begin(), inner.end(), ::isdigit) && inner.size() < 10) {
        index = size_t(std::stoul(std::string(inner)));
      } else {
        return std::nullopt;
      }
      i = close + 1;
    } else {
      return std::nullopt;
    }
    if (index) {
      if (!at->is_array() || *index >= at->size()) return std::nullopt;
      at = &(*at)[*index];
    } else {
      if (!at->is_object()) return std::nullopt;
      auto it = at->find(key);
      if (it == at->end()) return std::nullopt;
      at = &*it;
    }
  }
  return *at;
}

namespace {

std::string Fill(const json& transformer, const json& event, const std::string& rule_name, const std::string& rule_arn,
                 const std::string& ingestion_time) {
  std::string tmpl = transformer["InputTemplate"].get<std::string>();
  json paths = transformer.value("InputPathsMap", json::object());
  auto lookup = [&](const std::string& name) -> std::optional<json> {
    if (name == "aws.events.rule-arn") return json(rule_arn);
    if (name == "aws.events.rule-name") return json(rule_name);
    if (name == "aws.events.event.ingestion-time") return json(ingestion_time);
    if (name == "aws.events.event" || name == "aws.events.event.json") return event;
    if (!paths.is_object()) return std::nullopt;
    auto it = paths.find(name);
    if (it == paths.end() || !it->is_string()) return std::nullopt;
    return JsonPathValue(event, it->get<std::string>());
  };
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c == '\\' && i + 1 < tmpl.size()) {
      out += c;
      out += tmpl[++i];
      continue;
    }
    if (c == '"') in_string = !in_string;
    if (c == '<') {
      size_t close = tmpl.find('>', i);
      std::string name = close == std::string::npos ? "" : tmpl.substr(i + 1, close - i - 1);
      bool is_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_';
      });
      if (is_name) {
        std::optional<json> value = lookup(name);
        if (value || paths.contains(name)) {
          if (in_string) {
            // Inside a JSON string: a string's characters, escaped; anything else as JSON text, escaped.
            std::string text = value ? (value->is_string() ? value->get<std::string>() : DumpJson(*value)) : "";
            std::string quoted = DumpJson(json(text));
            out += quoted.substr(1, quoted.size() - 2);
          } else {
            out += value ? DumpJson(*value) : "null";
          }
          i = close;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string TargetInput(const Target& target, const json& event, const std::string& rule_name,
                        const std::string& rule_arn, const std::string& ingestion_time) {
  if (target.input) return *target.input;
  if (target.input_path) {
    auto value = JsonPathValue(event, *target.input_path);
    return value ? DumpJson(*value) : "null";
  }
  if (target.input_transformer) return Fill(*target.input_transformer, event, rule_name, rule_arn, ingestion_time);
  return DumpJson(event);
}

}  // namespace lambent::eventbridge
