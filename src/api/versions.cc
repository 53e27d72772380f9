#include "api/versions.h"

#include <fmt/format.h>

#include <cstdlib>

#include "api/common.h"
#include "api/errors.h"
#include "api/function_json.h"
#include "api/functions.h"

namespace lambent::api {

using nlohmann::json;

http::Response PublishVersion(ApiContext& context, const FunctionRef& ref,
                              const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto code_sha256 = OptionalString(*body, "CodeSha256");
  if (!code_sha256) return ErrorResponse(code_sha256.error());
  auto description = OptionalDescription(*body);
  if (!description) return ErrorResponse(description.error());
  auto revision = OptionalString(*body, "RevisionId");
  if (!revision) return ErrorResponse(revision.error());
  auto latest = context.registry.Find(ref.name);
  if (!latest) return FunctionNotFound(context, ref.name);
  // Lambda tells a stale CodeSha256 (400) from a stale RevisionId (412); the registry checks
  // both again under its lock.
  if (*code_sha256 && !(*code_sha256)->empty() && **code_sha256 != latest->code_sha256 &&
      (!*revision || **revision == latest->revision_id)) {
    return ErrorResponse(Error::Invalid(fmt::format(
        "CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). Please try again "
        "with the CodeSHA256 in $LATEST.",
        **code_sha256, latest->code_sha256)));
  }
  auto published = context.registry.Publish(ref.name, code_sha256->value_or(""),
                                            revision->value_or(""), description->value_or(""));
  if (!published) {
    switch (published.error().code()) {
      case ErrorCode::kNotFound:
        return FunctionNotFound(context, ref.name);
      case ErrorCode::kPreconditionFailed:
        // A stale CodeSha256 after all ($LATEST changed since the check above).
        if (*code_sha256 && !(*code_sha256)->empty() &&
            (!*revision || **revision == latest->revision_id)) {
          return ErrorResponse(Error::Invalid(published.error().message()));
        }
        return StaleRevision();
      default:
        return ErrorResponse(published.error());
    }
  }
  return JsonResponse(201, ConfigurationJson(context, **published));
}

http::Response ListVersionsByFunction(ApiContext& context, const FunctionRef& ref,
                                      const RequestTarget& target) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto page = ParsePage(target, 10000, 50);
  if (!page) return ErrorResponse(page.error());
  auto versions = context.registry.Versions(ref.name);
  if (!versions) return RegistryError(context, ref.name, versions.error());
  // $LATEST first, then by number; the marker is the version to resume at, so a version
  // deleted between pages does not shift the next one.
  auto order = [](const std::string& version) -> long long {
    return version == "$LATEST" ? -1 : std::strtoll(version.c_str(), nullptr, 10);
  };
  long long resume = -2;
  if (!page->marker.empty()) {
    if (page->marker != "$LATEST" && !IsVersionNumber(page->marker)) {
      return ErrorResponse(Error::Invalid("Invalid Marker"));
    }
    resume = order(page->marker);
  }
  json list = json::array();
  std::string next;
  for (const auto& config : *versions) {
    if (order(config->version) < resume) continue;
    if (int(list.size()) == page->max_items) {
      next = config->version;
      break;
    }
    // Lambda lists $LATEST under its qualified ARN too.
    list.push_back(ConfigurationJson(context, *config, config->version));
  }
  json body{{"Versions", std::move(list)}};
  if (!next.empty()) body["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, body);
}

}  // namespace lambent::api
