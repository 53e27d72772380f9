#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace lambent::urls {

// A function URL's CORS settings, as Lambda's Cors object. Plain data.
struct Cors {
  bool allow_credentials = false;
  std::vector<std::string> allow_headers;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_origins;
  std::vector<std::string> expose_headers;
  std::optional<int> max_age;

  nlohmann::json ToJson() const;
  // kInvalidArgument with Lambda's message for a malformed object.
  static Result<Cors> FromJson(const nlohmann::json& json);
};

// One function URL: a function (and an alias or $LATEST) reachable over plain HTTP at an
// id of its own. Plain data.
struct UrlConfig {
  std::string function;
  std::string qualifier;  // empty: the unqualified function ($LATEST)
  std::string url_id;     // 32 lower-case letters and digits, as Lambda's
  std::string auth_type = "NONE";
  std::optional<Cors> cors;
  std::string invoke_mode = "BUFFERED";
  int64_t created_ms = 0;
  int64_t modified_ms = 0;

  nlohmann::json ToStored() const;
  static UrlConfig FromStored(const nlohmann::json& json);
};

// A new URL id: 32 random lower-case letters and digits.
std::string NewUrlId();
// "2026-12-01T12:00:00.123000Z", as Lambda writes CreationTime.
std::string UrlTime(int64_t epoch_ms);

}  // namespace lambent::urls
