#include "api/common.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "api/errors.h"
#include "api/function_json.h"
#include "base/encoding.h"
#include "base/json.h"

namespace lambent::api {

http::Response JsonResponse(unsigned status, const nlohmann::json& body) {
  return http::MakeResponse(status, DumpJson(body));
}

http::Response FunctionNotFound(const ApiContext& context, const std::string& name,
                                const std::string& qualifier) {
  return ErrorResponse(
      Error::NotFound(fmt::format("Function not found: {}", context.FunctionArn(name, qualifier))));
}

http::Response RegistryError(const ApiContext& context, const std::string& name,
                             const Error& error) {
  if (error.code() == ErrorCode::kNotFound) return FunctionNotFound(context, name);
  return ErrorResponse(error);
}

http::Response StaleRevision() {
  return ErrorResponse(412, "PreconditionFailedException",
                       "The Revision Id provided does not match the latest Revision Id. Call the "
                       "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

bool IsVersionNumber(std::string_view qualifier) {
  return !qualifier.empty() && qualifier.size() <= 10 &&
         std::all_of(qualifier.begin(), qualifier.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<http::Response> RefuseQualifier(const FunctionRef& ref, bool latest_ok) {
  if (ref.qualifier.empty() || (latest_ok && ref.qualifier == "$LATEST")) return std::nullopt;
  return ErrorResponse(Error::Invalid(
      "Current operation does not support versions other than $LATEST. Please set the version to "
      "$LATEST or do not set a version in your request."));
}

Result<std::optional<std::string>> OptionalDescription(const nlohmann::json& body) {
  auto description = OptionalString(body, "Description");
  if (description && *description && (*description)->size() > 256) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: Member "
        "must have length less than or equal to 256"));
  }
  return description;
}

Result<int> ParseMaxItems(const RequestTarget& target, int max, int fallback) {
  auto text = target.Query("MaxItems");
  if (!text) return fallback;
  char* end = nullptr;
  long value = std::strtol(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || value < 1 || value > max) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'maxItems' failed to satisfy constraint: "
        "Member must have value between 1 and {}",
        *text, max)));
  }
  return int(value);
}

Result<std::string> DecodeMarker(const RequestTarget& target) {
  auto text = target.Query("Marker");
  if (!text || text->empty()) return std::string();
  auto decoded = Base64Decode(*text);
  if (!decoded) return tl::unexpected(Error::Invalid("Invalid Marker: " + *text));
  return std::move(*decoded);
}

std::string EncodeMarker(const std::string& key) { return Base64Encode(key); }

Result<Page> ParsePage(const RequestTarget& target, int max, int fallback) {
  auto max_items = ParseMaxItems(target, max, fallback);
  if (!max_items) return tl::unexpected(max_items.error());
  auto marker = DecodeMarker(target);
  if (!marker) return tl::unexpected(marker.error());
  return Page{*max_items, std::move(*marker)};
}

}  // namespace lambent::api
