#include "api/function_json.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "async/destination.h"
#include "base/clock.h"
#include "sqs/sqs_message.h"

namespace lambent::api {

using nlohmann::json;

namespace {

Error TypeError(const char* key, const char* type) {
  return Error::Invalid(fmt::format("1 validation error detected: Value at '{}' must be {}", key, type));
}

Result<std::optional<int>> OptionalInt(const json& body, const char* key, int min, int max) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<int>();
  if (!it->is_number_integer()) return tl::unexpected(TypeError(key, "an integer"));
  auto value = it->get<int64_t>();
  if (value < min || value > max) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must "
        "have value {} {}",
        value, key, value < min ? "greater than or equal to" : "less than or equal to",
        value < min ? min : max)));
  }
  return std::optional<int>(int(value));
}

// Keys the platform sets itself; Lambda refuses them in a function's variables.
const std::set<std::string> kReservedKeys = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"};

Result<void> ValidateEnvironment(const std::map<std::string, std::string>& vars) {
  static const std::regex kKey("[a-zA-Z][a-zA-Z0-9_]*");
  std::vector<std::string> reserved;
  size_t total = 0;
  for (const auto& [key, value] : vars) {
    if (!std::regex_match(key, kKey)) {
      return tl::unexpected(Error::Invalid(fmt::format(
          "1 validation error detected: Value at 'environment.variables' failed to satisfy "
          "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
          "pattern: [a-zA-Z][a-zA-Z0-9_]*] (key '{}')",
          key)));
    }
    if (kReservedKeys.contains(key)) reserved.push_back(key);
    total += key.size() + value.size();
  }
  if (!reserved.empty()) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not supported for "
        "modification. Reserved keys used in this request: {}",
        fmt::join(reserved, ", "))));
  }
  if (total > 4096) {
    return tl::unexpected(Error::Invalid(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit."));
  }
  return Ok();
}

// One LoggingConfig member: absent, or one of `allowed` (Lambda's enum check, in its words).
Result<std::optional<std::string>> LoggingEnum(const json& logging, const char* key, const char* path,
                                               std::initializer_list<std::string_view> allowed) {
  auto value = OptionalString(logging, key);
  if (!value || !*value) return value;
  for (std::string_view ok : allowed) {
    if (**value == ok) return value;
  }
  return tl::unexpected(Error::Invalid(fmt::format(
      "1 validation error detected: Value '{}' at 'loggingConfig.{}' failed to satisfy constraint: Member must "
      "satisfy enum value set: [{}]",
      (*value)->substr(0, 256), path, fmt::join(allowed, ", "))));
}

Result<void> ParseLoggingConfig(const json& logging, ConfigFields& f) {
  if (!logging.is_object()) return tl::unexpected(TypeError("LoggingConfig", "an object"));
  auto format = LoggingEnum(logging, "LogFormat", "logFormat", {"JSON", "Text"});
  if (!format) return tl::unexpected(format.error());
  auto application = LoggingEnum(logging, "ApplicationLogLevel", "applicationLogLevel",
                                 {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"});
  if (!application) return tl::unexpected(application.error());
  auto system = LoggingEnum(logging, "SystemLogLevel", "systemLogLevel", {"DEBUG", "INFO", "WARN"});
  if (!system) return tl::unexpected(system.error());
  auto group = OptionalString(logging, "LogGroup");
  if (!group) return tl::unexpected(group.error());
  if (*group) {
    // CloudWatch's rule for a group name: 1-512 of [.-_/#A-Za-z0-9].
    const std::string& name = **group;
    bool ok = !name.empty() && name.size() <= 512 && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '/' || c == '#';
    });
    if (!ok) {
      return tl::unexpected(Error::Invalid(fmt::format(
          "1 validation error detected: Value '{}' at 'loggingConfig.logGroup' failed to satisfy constraint: "
          "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
          name.substr(0, 512))));
    }
  }
  f.log_format = std::move(*format);
  f.application_log_level = std::move(*application);
  f.system_log_level = std::move(*system);
  f.log_group = std::move(*group);
  return Ok();
}

}  // namespace

Result<std::optional<std::string>> OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return tl::unexpected(TypeError(key, "a string"));
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<bool>> OptionalBool(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return tl::unexpected(TypeError(key, "a boolean"));
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::map<std::string, std::string>>> OptionalStringMap(const json& body,
                                                                            const char* key) {
  using Map = std::map<std::string, std::string>;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<Map>();
  if (!it->is_object()) return tl::unexpected(TypeError(key, "a map of strings"));
  Map out;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return tl::unexpected(TypeError(key, "a map of strings"));
    out[k] = v.get<std::string>();
  }
  return std::optional<Map>(std::move(out));
}

Result<ConfigFields> ParseConfigFields(const json& body, const runtimes::Catalog& catalog) {
  ConfigFields f;
#define LAMBENT_TAKE(target, expr)                   \
  {                                                  \
    auto value = (expr);                             \
    if (!value) return tl::unexpected(value.error()); \
    target = std::move(*value);                      \
  }
  LAMBENT_TAKE(f.runtime, OptionalString(body, "Runtime"));
  LAMBENT_TAKE(f.handler, OptionalString(body, "Handler"));
  LAMBENT_TAKE(f.role, OptionalString(body, "Role"));
  LAMBENT_TAKE(f.description, OptionalString(body, "Description"));
  LAMBENT_TAKE(f.revision_id, OptionalString(body, "RevisionId"));
  // lambent's own field: Lambda clients never send it and ignore it in answers.
  LAMBENT_TAKE(f.network, OptionalString(body, "Network"));
  if (f.network && *f.network != "none" && *f.network != "host") {
    return tl::unexpected(Error::Invalid("Network must be \"none\" (loopback only) or \"host\""));
  }
  LAMBENT_TAKE(f.timeout_s, OptionalInt(body, "Timeout", 1, 900));
  LAMBENT_TAKE(f.memory_mb, OptionalInt(body, "MemorySize", 128, 10240));
  if (auto it = body.find("EphemeralStorage"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return tl::unexpected(TypeError("EphemeralStorage", "an object"));
    LAMBENT_TAKE(f.ephemeral_storage_mb, OptionalInt(*it, "Size", 512, 10240));
  }
  if (auto it = body.find("Environment"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return tl::unexpected(TypeError("Environment", "an object"));
    LAMBENT_TAKE(f.environment, OptionalStringMap(*it, "Variables"));
    if (!f.environment) f.environment.emplace();
    if (auto ok = ValidateEnvironment(*f.environment); !ok) return tl::unexpected(ok.error());
  }
  if (auto it = body.find("DeadLetterConfig"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return tl::unexpected(TypeError("DeadLetterConfig", "an object"));
    LAMBENT_TAKE(f.dead_letter_arn, OptionalString(*it, "TargetArn"));
    if (!f.dead_letter_arn) f.dead_letter_arn.emplace();
  }
  if (auto it = body.find("TracingConfig"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return tl::unexpected(TypeError("TracingConfig", "an object"));
    std::optional<std::string> mode;
    LAMBENT_TAKE(mode, OptionalString(*it, "Mode"));
    if (mode && *mode == "Active") {
      // Accepting it would promise traces that never reach anyone.
      return tl::unexpected(Error::Invalid(
          "TracingConfig Mode Active is not supported by lambent yet: there is no X-Ray to send "
          "traces to. Leave TracingConfig out or use Mode PassThrough."));
    }
    if (mode && *mode != "PassThrough") {
      return tl::unexpected(Error::Invalid(fmt::format(
          "1 validation error detected: Value '{}' at 'tracingConfig.mode' failed to satisfy "
          "constraint: Member must satisfy enum value set: [Active, PassThrough]",
          *mode)));
    }
  }
  if (auto it = body.find("LoggingConfig"); it != body.end() && !it->is_null()) {
    if (auto ok = ParseLoggingConfig(*it, f); !ok) return tl::unexpected(ok.error());
  }
  if (auto it = body.find("Layers"); it != body.end() && it->is_array() && !it->empty()) {
    return tl::unexpected(Error::Invalid("Layers are not supported by lambent yet"));
  }
#undef LAMBENT_TAKE
  if (f.runtime) {
    if (auto ok = catalog.Validate(*f.runtime); !ok) return tl::unexpected(ok.error());
  }
  if (f.description && f.description->size() > 256) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: Member "
        "must have length less than or equal to 256"));
  }
  if (f.handler && (f.handler->empty() || f.handler->size() > 128)) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'handler' failed to satisfy constraint: Member "
        "must have length between 1 and 128"));
  }
  return f;
}

void ApplyConfigFields(const ConfigFields& f, registry::FunctionConfig& c) {
  if (f.runtime) c.runtime = *f.runtime;
  if (f.handler) c.handler = *f.handler;
  if (f.role) c.role = *f.role;
  if (f.description) c.description = *f.description;
  if (f.timeout_s) c.timeout_s = *f.timeout_s;
  if (f.memory_mb) c.memory_mb = *f.memory_mb;
  if (f.ephemeral_storage_mb) c.ephemeral_storage_mb = *f.ephemeral_storage_mb;
  if (f.environment) c.environment = *f.environment;
  if (f.network) c.network = *f.network;
  if (f.dead_letter_arn) c.dead_letter_arn = *f.dead_letter_arn;
  registry::LoggingConfig& logging = c.logging;
  if (f.log_format) logging.log_format = *f.log_format;
  if (f.application_log_level) logging.application_log_level = *f.application_log_level;
  if (f.system_log_level) logging.system_log_level = *f.system_log_level;
  if (f.log_group) logging.log_group = *f.log_group;
  // A group named as the default one is the default: the function keeps following its name.
  if (logging.log_group == "/aws/lambda/" + c.name) logging.log_group.clear();
  if (logging.json()) {
    if (logging.application_log_level.empty()) logging.application_log_level = "INFO";
    if (logging.system_log_level.empty()) logging.system_log_level = "INFO";
  } else {
    logging.application_log_level.clear();
    logging.system_log_level.clear();
  }
}

Result<void> CheckLoggingFields(const ConfigFields& f, const registry::LoggingConfig& current) {
  bool sets_level = f.application_log_level || f.system_log_level;
  if (sets_level && f.log_format.value_or(current.log_format) != "JSON") {
    return tl::unexpected(Error::Invalid(
        "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or "
        "change the LogFormat to \"JSON\" and try again."));
  }
  return Ok();
}

Result<void> CheckDeadLetterTarget(const ApiContext& context, const std::string& arn) {
  if (arn.empty()) return Ok();
  // Lambda's pattern, (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|(), checked by hand: a regex
  // with .* recurses per character in libstdc++.
  size_t partition_end = arn.find(':', 4);
  bool shaped = arn.size() <= 1024 && arn.starts_with("arn:aws") &&
                partition_end != std::string::npos &&
                arn.find(':', partition_end + 1) != std::string::npos;
  if (!shaped) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'deadLetterConfig.targetArn' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
        arn.substr(0, 400))));
  }
  if (async::DestinationKindOf(arn) == async::DestinationKind::kTopic) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "The target ARN {} is invalid: lambent cannot deliver to SNS topics; use a queue of this "
        "lambent (arn:aws:sqs:{}:{}:<name>).",
        arn, context.region, context.account_id)));
  }
  if (!sqs::QueueNameFromArn(arn, context.region, context.account_id)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "The target ARN {} is invalid. It must be an Amazon SQS queue or Amazon SNS topic ARN; "
        "lambent delivers to its own queues (arn:aws:sqs:{}:{}:<name>).",
        arn, context.region, context.account_id)));
  }
  return Ok();
}

namespace {

json LoggingConfigJson(const registry::FunctionConfig& c) {
  json logging{{"LogFormat", c.logging.log_format}, {"LogGroup", registry::LogGroupOf(c)}};
  if (c.logging.json()) {
    logging["ApplicationLogLevel"] = c.logging.application_log_level;
    logging["SystemLogLevel"] = c.logging.system_log_level;
  }
  return logging;
}

}  // namespace

json ConfigurationJson(const ApiContext& context, const registry::FunctionConfig& c,
                       const std::optional<std::string>& arn_qualifier) {
  std::string qualifier = c.version == "$LATEST" ? "" : c.version;
  if (arn_qualifier) qualifier = *arn_qualifier;
  json j{{"FunctionName", c.name},
         {"FunctionArn", context.FunctionArn(c.name, qualifier)},
         {"Runtime", c.runtime},
         {"Role", c.role},
         {"Handler", c.handler},
         {"CodeSize", c.code_size},
         {"Description", c.description},
         {"Timeout", c.timeout_s},
         {"MemorySize", c.memory_mb},
         {"LastModified", FormatLambdaTimestamp(c.last_modified_ms)},
         {"CodeSha256", c.code_sha256},
         {"Version", c.version},
         {"TracingConfig", {{"Mode", "PassThrough"}}},
         {"RevisionId", c.revision_id},
         {"State", "Active"},
         {"LastUpdateStatus", "Successful"},
         {"PackageType", c.package_type},
         {"Architectures", c.architectures},
         {"EphemeralStorage", {{"Size", c.ephemeral_storage_mb}}},
         {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
         {"LoggingConfig", LoggingConfigJson(c)},
         {"Network", c.network}};
  if (!c.environment.empty()) j["Environment"] = {{"Variables", c.environment}};
  if (!c.dead_letter_arn.empty()) j["DeadLetterConfig"] = {{"TargetArn", c.dead_letter_arn}};
  return j;
}

}  // namespace lambent::api
