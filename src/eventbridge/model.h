#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lambent::eventbridge {

inline constexpr const char* kDefaultBus = "default";

// Where a matching event goes, and what of it. Plain data.
struct Target {
  std::string id;
  std::string arn;
  std::optional<std::string> input;       // a fixed JSON text instead of the event
  std::optional<std::string> input_path;  // a JSONPath into the event
  // {"InputPathsMap": {...}, "InputTemplate": "..."}
  std::optional<nlohmann::json> input_transformer;

  nlohmann::json ToJson() const;
  static Target FromJson(const nlohmann::json& json);
};

// A rule on an event bus: a schedule, an event pattern, or both. Plain data.
struct Rule {
  std::string name;
  std::string bus = kDefaultBus;
  std::string description;
  std::string schedule_expression;  // empty: none
  std::string event_pattern;        // empty: none
  bool enabled = true;
  std::string role_arn;
  // When its rate schedule started counting (created or last enabled), epoch ms.
  int64_t anchor_ms = 0;
  std::vector<Target> targets;

  nlohmann::json ToJson() const;
  static Rule FromJson(const nlohmann::json& json);
};

struct Bus {
  std::string name;
  int64_t created_ms = 0;
};

std::string RuleArn(const std::string& region, const std::string& account, const Rule& rule);
std::string BusArn(const std::string& region, const std::string& account, const std::string& bus);

}  // namespace lambent::eventbridge
