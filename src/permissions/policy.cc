#include "permissions/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace lambent::permissions {

using nlohmann::json;

namespace {

Result<std::string> Field(const json& body, const char* name, const char* wire, bool required, size_t max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) {
      return tl::unexpected(Error::Invalid(
          fmt::format("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", wire)));
    }
    return std::string();
  }
  if (!it->is_string() || it->get<std::string>().size() > max || (required && it->get<std::string>().empty())) {
    return tl::unexpected(Error::Invalid(
        fmt::format("1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length "
                    "between 1 and {}", wire, max)));
  }
  return it->get<std::string>();
}

bool ValidStatementId(const std::string& sid) {
  return !sid.empty() && sid.size() <= 100 && std::all_of(sid.begin(), sid.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

bool ValidAction(const std::string& action) {
  if (action == "*" || action == "lambda:*") return true;
  if (!action.starts_with("lambda:") || action.size() == 7) return false;
  return std::all_of(action.begin() + 7, action.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

bool IsAccountId(const std::string& text) {
  return text.size() == 12 && std::all_of(text.begin(), text.end(), ::isdigit);
}

}  // namespace

Result<PermissionRequest> ParsePermission(const json& body) {
  if (!body.is_object()) return tl::unexpected(Error::Invalid("The request body must be a JSON object."));
  PermissionRequest request;
  struct {
    std::string* out;
    const char* name;
    const char* wire;
    bool required;
    size_t max;
  } fields[] = {
      {&request.statement_id, "StatementId", "statementId", true, 100},
      {&request.action, "Action", "action", true, 256},
      {&request.principal, "Principal", "principal", true, 256},
      {&request.source_arn, "SourceArn", "sourceArn", false, 1024},
      {&request.source_account, "SourceAccount", "sourceAccount", false, 12},
      {&request.event_source_token, "EventSourceToken", "eventSourceToken", false, 256},
      {&request.principal_org_id, "PrincipalOrgID", "principalOrgID", false, 34},
      {&request.function_url_auth_type, "FunctionUrlAuthType", "functionUrlAuthType", false, 16},
  };
  for (auto& f : fields) {
    auto value = Field(body, f.name, f.wire, f.required, f.max);
    if (!value) return tl::unexpected(value.error());
    *f.out = std::move(*value);
  }
  if (!ValidStatementId(request.statement_id)) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'statementId' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: ([a-zA-Z0-9-_]+)"));
  }
  if (!ValidAction(request.action)) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'action' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"));
  }
  if (!request.function_url_auth_type.empty() && request.function_url_auth_type != "NONE" &&
      request.function_url_auth_type != "AWS_IAM") {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'functionUrlAuthType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [NONE, AWS_IAM]"));
  }
  return request;
}

json Statement(const PermissionRequest& request, const std::string& resource_arn) {
  json principal;
  if (request.principal == "*") {
    principal = "*";
  } else if (request.principal.find(".amazonaws.com") != std::string::npos) {
    principal = {{"Service", request.principal}};
  } else if (IsAccountId(request.principal)) {
    principal = {{"AWS", "arn:aws:iam::" + request.principal + ":root"}};
  } else {
    principal = {{"AWS", request.principal}};
  }
  json statement{{"Sid", request.statement_id},
                 {"Effect", "Allow"},
                 {"Principal", principal},
                 {"Action", request.action},
                 {"Resource", resource_arn}};
  json condition = json::object();
  if (!request.source_arn.empty()) condition["ArnLike"]["AWS:SourceArn"] = request.source_arn;
  if (!request.source_account.empty()) condition["StringEquals"]["AWS:SourceAccount"] = request.source_account;
  if (!request.principal_org_id.empty()) condition["StringEquals"]["aws:PrincipalOrgID"] = request.principal_org_id;
  if (!request.event_source_token.empty()) condition["StringEquals"]["lambda:EventSourceToken"] = request.event_source_token;
  if (!request.function_url_auth_type.empty()) {
    condition["StringEquals"]["lambda:FunctionUrlAuthType"] = request.function_url_auth_type;
  }
  if (!condition.empty()) statement["Condition"] = condition;
  return statement;
}

json Policy::Document() const {
  return {{"Version", "2012-10-17"}, {"Id", "default"}, {"Statement", statements}};
}

}  // namespace lambent::permissions
