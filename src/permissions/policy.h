#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace lambent::permissions {

// What AddPermission asks for, as Lambda's request names it. Plain data.
struct PermissionRequest {
  std::string statement_id;
  std::string action;
  std::string principal;
  std::string source_arn;
  std::string source_account;
  std::string event_source_token;
  std::string principal_org_id;
  std::string function_url_auth_type;
};

// kInvalidArgument with Lambda's message when a field breaks its rules.
Result<PermissionRequest> ParsePermission(const nlohmann::json& body);

// The policy statement Lambda writes for a permission on `resource_arn`: Sid, Effect
// Allow, Principal ("*", {"Service": ...} or {"AWS": ...}), Action, Resource, and the
// Condition its source ARN, source account, organization and URL auth type make.
nlohmann::json Statement(const PermissionRequest& request, const std::string& resource_arn);

// A resource-based policy of a function (or one of its versions or aliases): its
// statements in order, and the revision that changes with each of them. Plain data.
struct Policy {
  std::vector<nlohmann::json> statements;
  std::string revision_id;

  // {"Version": "2012-10-17", "Id": "default", "Statement": [...]}
  nlohmann::json Document() const;
};

}  // namespace lambent::permissions
