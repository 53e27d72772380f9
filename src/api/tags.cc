#include "api/tags.h"

#include <fmt/format.h>

#include "api/common.h"
#include "api/errors.h"
#include "api/function_json.h"
#include "api/functions.h"

namespace lambent::api {

using nlohmann::json;

namespace {

// The function a tags path names, or the answer to give instead: Lambda takes a function's
// full, unqualified ARN only.
tl::expected<std::string, http::Response> TaggedFunction(const ApiContext& context,
                                                         const std::string& arn) {
  auto ref = ParseFunctionRef(arn);
  if (!ref || ref->region.empty()) {
    return tl::unexpected(ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'resource' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
        "arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:\\d{{12}}:function:[a-zA-Z0-"
        "9-_]+"
        "(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        arn))));
  }
  if (auto refused = RefuseForeignRef(context, *ref)) return tl::unexpected(std::move(*refused));
  if (!ref->qualifier.empty()) {
    return tl::unexpected(
        ErrorResponse(Error::Invalid("Tags on function aliases and versions are not supported. "
                                     "Please specify a function ARN.")));
  }
  return ref->name;
}

http::Response TagsError(const ApiContext& context, const std::string& name, const Error& error) {
  if (error.code() == ErrorCode::kNotFound) return FunctionNotFound(context, name);
  return ErrorResponse(error);
}

}  // namespace

http::Response ListTags(ApiContext& context, const std::string& arn) {
  auto name = TaggedFunction(context, arn);
  if (!name) return name.error();
  auto settings = context.registry.Settings(*name);
  if (!settings) return TagsError(context, *name, settings.error());
  return JsonResponse(200, json{{"Tags", settings->tags}});
}

http::Response TagResource(ApiContext& context, const std::string& arn,
                           const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  auto name = TaggedFunction(context, arn);
  if (!name) return name.error();
  auto tags = OptionalStringMap(*body, "Tags");
  if (!tags) return ErrorResponse(tags.error());
  if (!*tags) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member "
        "must not be null"));
  }
  if (auto ok = context.registry.Tag(*name, **tags); !ok)
    return TagsError(context, *name, ok.error());
  return http::MakeResponse(204, "", "");
}

http::Response UntagResource(ApiContext& context, const std::string& arn,
                             const RequestTarget& target) {
  auto name = TaggedFunction(context, arn);
  if (!name) return name.error();
  auto keys = target.QueryAll("tagKeys");
  if (keys.empty()) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member "
        "must not be null"));
  }
  if (auto ok = context.registry.Untag(*name, keys); !ok)
    return TagsError(context, *name, ok.error());
  return http::MakeResponse(204, "", "");
}

}  // namespace lambent::api
