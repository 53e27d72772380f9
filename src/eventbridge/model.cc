#include "eventbridge/model.h"

namespace lambent::eventbridge {

using nlohmann::json;

json Target::ToJson() const {
  json out{{"Id", id}, {"Arn", arn}};
  if (input) out["Input"] = *input;
  if (input_path) out["InputPath"] = *input_path;
  if (input_transformer) out["InputTransformer"] = *input_transformer;
  return out;
}

Target Target::FromJson(const json& in) {
  Target target;
  target.id = in.value("Id", "");
  target.arn = in.value("Arn", "");
  if (in.contains("Input") && in["Input"].is_string()) target.input = in["Input"].get<std::string>();
  if (in.contains("InputPath") && in["InputPath"].is_string()) target.input_path = in["InputPath"].get<std::string>();
  if (in.contains("InputTransformer") && in["InputTransformer"].is_object()) target.input_transformer = in["InputTransformer"];
  return target;
}

json Rule::ToJson() const {
  json targets_json = json::array();
  for (const Target& t : targets) targets_json.push_back(t.ToJson());
  return {{"name", name},           {"bus", bus},         {"description", description},
          {"schedule", schedule_expression}, {"pattern", event_pattern}, {"enabled", enabled},
          {"role_arn", role_arn},   {"anchor_ms", anchor_ms}, {"targets", targets_json}};
}

Rule Rule::FromJson(const json& in) {
  Rule rule;
  rule.name = in.value("name", "");
  rule.bus = in.value("bus", kDefaultBus);
  rule.description = in.value("description", "");
  rule.schedule_expression = in.value("schedule", "");
  rule.event_pattern = in.value("pattern", "");
  rule.enabled = in.value("enabled", true);
  rule.role_arn = in.value("role_arn", "");
  rule.anchor_ms = in.value("anchor_ms", int64_t{0});
  if (auto it = in.find("targets"); it != in.end() && it->is_array()) {
    for (const json& t : *it) rule.targets.push_back(Target::FromJson(t));
  }
  return rule;
}

std::string RuleArn(const std::string& region, const std::string& account, const Rule& rule) {
  std::string arn = "arn:aws:events:" + region + ":" + account + ":rule/";
  if (rule.bus != kDefaultBus) arn += rule.bus + "/";
  return arn + rule.name;
}

std::string BusArn(const std::string& region, const std::string& account, const std::string& bus) {
  return "arn:aws:events:" + region + ":" + account + ":event-bus/" + bus;
}

}  // namespace lambent::eventbridge
