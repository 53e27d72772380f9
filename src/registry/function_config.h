#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"

namespace lambent::registry {

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
  std::map<std::string, std::string> tags;
  std::vector<std::string> architectures{"x86_64"};
  std::string package_type = "Zip";
  std::string network = "none";  // lambent's own setting: "none" (loopback only) or "host"
  std::string code_key;     // hex SHA-256 of the zip: where the code store keeps it
  std::string code_sha256;  // base64 SHA-256 (Lambda's CodeSha256)
  int64_t code_size = 0;
  int64_t last_modified_ms = 0;
  std::string revision_id;  // changes on every update; warm environments of an older one retire
};

// Storage form; round-trips every field.
nlohmann::json ToStorageJson(const FunctionConfig& config);
Result<FunctionConfig> FromStorageJson(const nlohmann::json& json);

// Lambda's naming rule for a function name: 1-64 of [a-zA-Z0-9-_].
bool IsValidFunctionName(std::string_view name);

}  // namespace lambent::registry
