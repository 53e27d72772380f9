#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_context.h"
#include "registry/function_config.h"

namespace lambent::api {

// Lambda's FunctionConfiguration document for a stored configuration. FunctionArn carries
// `arn_qualifier` when given (an alias the caller named, "$LATEST" where Lambda qualifies it,
// "" for unqualified), else a published version's number; $LATEST's is unqualified.
nlohmann::json ConfigurationJson(const ApiContext& context, const registry::FunctionConfig& config,
                                 const std::optional<std::string>& arn_qualifier = std::nullopt);

// The settable fields of CreateFunction and UpdateFunctionConfiguration, type-checked; a
// field is set only when the request had it.
struct ConfigFields {
  std::optional<std::string> runtime, handler, role, description, revision_id, network;
  std::optional<int> timeout_s, memory_mb, ephemeral_storage_mb;
  std::optional<std::map<std::string, std::string>> environment;
  std::optional<std::string> dead_letter_arn;  // DeadLetterConfig.TargetArn; "" removes it
  // LoggingConfig's members, each set only when the request had it; LogGroup "" is the default.
  std::optional<std::string> log_format, application_log_level, system_log_level, log_group;
};
// Reads and range-checks the fields; kInvalidArgument names the offending field.
Result<ConfigFields> ParseConfigFields(const nlohmann::json& body, const runtimes::Catalog& catalog);
// A DeadLetterConfig.TargetArn lambent can deliver to: a queue of its own region and
// account ("" is none). kInvalidArgument otherwise, in Lambda's words where it has them.
Result<void> CheckDeadLetterTarget(const ApiContext& context, const std::string& arn);
// Lambda refuses log levels on a function whose LogFormat stays Text: kInvalidArgument when the
// fields set a level and `current` (the function's, or a new one's default) with them is Text.
Result<void> CheckLoggingFields(const ConfigFields& fields, const registry::LoggingConfig& current);
// Applies parsed fields to a configuration. LoggingConfig members merge into the current
// ones; JSON without levels takes Lambda's defaults (INFO, INFO), Text drops the levels.
void ApplyConfigFields(const ConfigFields& fields, registry::FunctionConfig& config);

// Typed accessors for request documents: absent -> nullopt, wrong type -> kInvalidArgument.
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const char* key);
Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, const char* key);
Result<std::optional<std::map<std::string, std::string>>> OptionalStringMap(
    const nlohmann::json& body, const char* key);

}  // namespace lambent::api
