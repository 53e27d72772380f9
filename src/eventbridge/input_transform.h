#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "eventbridge/model.h"

namespace lambent::eventbridge {

// The value a JSONPath names in `document`: `$`, then `.name`, `['name']` and `[index]`
// steps. nullopt when the path is malformed or names nothing.
std::optional<nlohmann::json> JsonPathValue(const nlohmann::json& document, std::string_view path);

// What `target` receives for `event`, as EventBridge makes it: the event itself, its fixed
// Input, the part InputPath names, or InputTransformer's template filled from
// InputPathsMap (inside a JSON string a string value goes in bare; elsewhere as JSON) and
// the reserved <aws.events.rule-arn>, <aws.events.rule-name>, <aws.events.event.json> and
// <aws.events.event.ingestion-time>.
std::string TargetInput(const Target& target, const nlohmann::json& event, const std::string& rule_name,
                        const std::string& rule_arn, const std::string& ingestion_time);

}  // namespace lambent::eventbridge
