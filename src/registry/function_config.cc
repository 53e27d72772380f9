#include "registry/function_config.h"

#include <nlohmann/json.hpp>

namespace lambent::registry {

using nlohmann::json;

json ToStorageJson(const FunctionConfig& c) {
  return json{{"name", c.name},
              {"version", c.version},
              {"runtime", c.runtime},
              {"handler", c.handler},
              {"role", c.role},
              {"description", c.description},
              {"timeout_s", c.timeout_s},
              {"memory_mb", c.memory_mb},
              {"ephemeral_storage_mb", c.ephemeral_storage_mb},
              {"environment", c.environment},
              {"tags", c.tags},
              {"architectures", c.architectures},
              {"package_type", c.package_type},
              {"network", c.network},
              {"dead_letter_arn", c.dead_letter_arn},
              {"logging",
               {{"log_format", c.logging.log_format},
                {"application_log_level", c.logging.application_log_level},
                {"system_log_level", c.logging.system_log_level},
                {"log_group", c.logging.log_group}}},
              {"code_key", c.code_key},
              {"code_sha256", c.code_sha256},
              {"code_size", c.code_size},
              {"last_modified_ms", c.last_modified_ms},
              {"revision_id", c.revision_id}};
}

Result<FunctionConfig> FromStorageJson(const json& j) {
  try {
    FunctionConfig c;
    c.name = j.at("name").get<std::string>();
    c.version = j.value("version", "$LATEST");
    c.runtime = j.value("runtime", "");
    c.handler = j.value("handler", "");
    c.role = j.value("role", "");
    c.description = j.value("description", "");
    c.timeout_s = j.value("timeout_s", 3);
    c.memory_mb = j.value("memory_mb", 128);
    c.ephemeral_storage_mb = j.value("ephemeral_storage_mb", 512);
    c.environment = j.value("environment", std::map<std::string, std::string>{});
    c.tags = j.value("tags", std::map<std::string, std::string>{});
    c.architectures = j.value("architectures", std::vector<std::string>{"x86_64"});
    c.package_type = j.value("package_type", "Zip");
    c.network = j.value("network", "none");
    c.dead_letter_arn = j.value("dead_letter_arn", "");
    // A version stored before LoggingConfig existed logs as Lambda's default: Text.
    if (auto it = j.find("logging"); it != j.end() && it->is_object()) {
      c.logging.log_format = it->value("log_format", "Text");
      c.logging.application_log_level = it->value("application_log_level", "");
      c.logging.system_log_level = it->value("system_log_level", "");
      c.logging.log_group = it->value("log_group", "");
    }
    c.code_key = j.value("code_key", "");
    c.code_sha256 = j.value("code_sha256", "");
    c.code_size = j.value("code_size", int64_t{0});
    c.last_modified_ms = j.value("last_modified_ms", int64_t{0});
    c.revision_id = j.value("revision_id", "");
    return c;
  } catch (const json::exception& e) {
    return tl::unexpected(Error::Internal(std::string("stored function config: ") + e.what()));
  }
}

json ToStorageJson(const Alias& a) {
  return json{{"function", a.function},
              {"name", a.name},
              {"version", a.version},
              {"description", a.description},
              {"additional_version", a.additional_version},
              {"additional_weight", a.additional_weight},
              {"revision_id", a.revision_id}};
}

Result<Alias> AliasFromStorageJson(const json& j) {
  try {
    Alias a;
    a.function = j.at("function").get<std::string>();
    a.name = j.at("name").get<std::string>();
    a.version = j.value("version", "");
    a.description = j.value("description", "");
    a.additional_version = j.value("additional_version", "");
    a.additional_weight = j.value("additional_weight", 0.0);
    a.revision_id = j.value("revision_id", "");
    return a;
  } catch (const json::exception& e) {
    return tl::unexpected(Error::Internal(std::string("stored alias: ") + e.what()));
  }
}

json ToStorageJson(const FunctionSettings& s) {
  json provisioned = json::object();
  for (const auto& [qualifier, config] : s.provisioned) {
    provisioned[qualifier] =
        json{{"requested", config.requested}, {"last_modified_ms", config.last_modified_ms}};
  }
  json event_invoke = json::object();
  for (const auto& [qualifier, config] : s.event_invoke) {
    json entry{{"on_success", config.on_success},
               {"on_failure", config.on_failure},
               {"last_modified_ms", config.last_modified_ms}};
    if (config.max_retry_attempts) entry["max_retry_attempts"] = *config.max_retry_attempts;
    if (config.max_event_age_s) entry["max_event_age_s"] = *config.max_event_age_s;
    event_invoke[qualifier] = std::move(entry);
  }
  json out{{"last_version", s.last_version},
           {"tags", s.tags},
           {"provisioned", provisioned},
           {"event_invoke", event_invoke}};
  // Absent, not null, when unset: "no reservation" and "reserved 0" must stay apart.
  if (s.reserved_concurrency) out["reserved_concurrency"] = *s.reserved_concurrency;
  return out;
}

Result<FunctionSettings> SettingsFromStorageJson(const json& j) {
  try {
    FunctionSettings s;
    if (!j.is_object())
      return tl::unexpected(Error::Internal("stored function settings: not an object"));
    s.last_version = j.value("last_version", 0);
    s.tags = j.value("tags", std::map<std::string, std::string>{});
    if (auto it = j.find("reserved_concurrency"); it != j.end() && !it->is_null()) {
      s.reserved_concurrency = it->get<int>();
    }
    if (auto it = j.find("provisioned"); it != j.end() && it->is_object()) {
      for (const auto& [qualifier, config] : it->items()) {
        ProvisionedConfig p;
        p.requested = config.value("requested", 0);
        p.last_modified_ms = config.value("last_modified_ms", int64_t{0});
        s.provisioned[qualifier] = p;
      }
    }
    if (auto it = j.find("event_invoke"); it != j.end() && it->is_object()) {
      for (const auto& [qualifier, config] : it->items()) {
        EventInvokeConfig e;
        if (auto r = config.find("max_retry_attempts"); r != config.end() && !r->is_null()) {
          e.max_retry_attempts = r->get<int>();
        }
        if (auto a = config.find("max_event_age_s"); a != config.end() && !a->is_null()) {
          e.max_event_age_s = a->get<int>();
        }
        e.on_success = config.value("on_success", "");
        e.on_failure = config.value("on_failure", "");
        e.last_modified_ms = config.value("last_modified_ms", int64_t{0});
        s.event_invoke[qualifier] = std::move(e);
      }
    }
    return s;
  } catch (const json::exception& e) {
    return tl::unexpected(Error::Internal(std::string("stored function settings: ") + e.what()));
  }
}

std::string LogGroupOf(const FunctionConfig& config) {
  return config.logging.log_group.empty() ? "/aws/lambda/" + config.name : config.logging.log_group;
}

bool IsValidFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace lambent::registry
