#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"

namespace lambent::registry {

// Lambda's LoggingConfig. Levels are set only with LogFormat JSON (Lambda refuses them with
// Text); an empty log_group means the function's default one, /aws/lambda/NAME.
struct LoggingConfig {
  std::string log_format = "Text";     // "Text" or "JSON"
  std::string application_log_level;  // TRACE, DEBUG, INFO, WARN, ERROR, FATAL; "" with Text
  std::string system_log_level;       // DEBUG, INFO, WARN; "" with Text
  std::string log_group;

  bool json() const { return log_format == "JSON"; }
  bool operator==(const LoggingConfig&) const = default;
};

// The configuration of one function version, as Lambda's FunctionConfiguration describes it.
// A plain value; the registry hands out immutable shared copies.
struct FunctionConfig {
  std::string name;
  std::string version = "$LATEST";
  std::string runtime;
  std::string handler;
  std::string role;
  std::string description;
  int timeout_s = 3;
  int memory_mb = 128;
  int ephemeral_storage_mb = 512;
  std::map<std::string, std::string> environment;
  std::map<std::string, std::string> tags;  // CreateFunction's Tags; the registry keeps them in
                                            // FunctionSettings
  std::vector<std::string> architectures{"x86_64"};
  std::string package_type = "Zip";
  std::string network = "none";  // lambent's own setting: "none" (loopback only) or "host"
  // DeadLetterConfig.TargetArn: the SQS queue that gets an async event's original payload
  // once it has failed for good. Empty: none. Part of a version, as on Lambda.
  std::string dead_letter_arn;
  LoggingConfig logging;  // part of a version, as on Lambda
  std::string code_key;     // hex SHA-256 of the zip: where the code store keeps it
  std::string code_sha256;  // base64 SHA-256 (Lambda's CodeSha256)
  int64_t code_size = 0;
  int64_t last_modified_ms = 0;
  std::string revision_id;  // changes on every update; warm environments of an older one retire
};

// A named pointer to a published version, optionally sending a share of the calls to a
// second version (Lambda's RoutingConfig.AdditionalVersionWeights, one entry at most).
struct Alias {
  std::string function;
  std::string name;
  std::string version;  // a published version's number
  std::string description;
  std::string additional_version;  // empty: no routing
  double additional_weight = 0;    // share of calls sent to additional_version, 0..1
  std::string revision_id;
};

// Provisioned concurrency requested for one qualifier (a version or an alias).
struct ProvisionedConfig {
  int requested = 0;
  int64_t last_modified_ms = 0;
};

// Lambda's FunctionEventInvokeConfig for one qualifier: how its async events are retried
// and where their records go. An unset limit means Lambda's default.
struct EventInvokeConfig {
  std::optional<int> max_retry_attempts;    // 0-2
  std::optional<int> max_event_age_s;       // 60-21600
  std::string on_success;                   // destination ARN; empty: none
  std::string on_failure;                   // destination ARN; empty: none
  int64_t last_modified_ms = 0;

  bool operator==(const EventInvokeConfig&) const = default;
};

// What belongs to a function as a whole rather than to one version.
struct FunctionSettings {
  int last_version = 0;  // the highest version number ever published: numbers are not reused
  std::map<std::string, std::string> tags;
  std::optional<int> reserved_concurrency;
  std::map<std::string, ProvisionedConfig> provisioned;  // by qualifier
  // By qualifier: "$LATEST" (an unqualified call's), a version number or an alias.
  std::map<std::string, EventInvokeConfig> event_invoke;
};

// Storage forms; each round-trips every field.
nlohmann::json ToStorageJson(const FunctionConfig& config);
Result<FunctionConfig> FromStorageJson(const nlohmann::json& json);
nlohmann::json ToStorageJson(const Alias& alias);
Result<Alias> AliasFromStorageJson(const nlohmann::json& json);
nlohmann::json ToStorageJson(const FunctionSettings& settings);
Result<FunctionSettings> SettingsFromStorageJson(const nlohmann::json& json);

// The log group a function's lines go to: LoggingConfig.LogGroup, else /aws/lambda/NAME.
std::string LogGroupOf(const FunctionConfig& config);

// Lambda's naming rule for a function name: 1-64 of [a-zA-Z0-9-_].
bool IsValidFunctionName(std::string_view name);

}  // namespace lambent::registry
