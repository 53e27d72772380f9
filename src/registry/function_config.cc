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
