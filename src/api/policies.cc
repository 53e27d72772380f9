#include "api/policies.h"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "api/common.h"
#include "api/errors.h"
#include "base/json.h"
#include "permissions/policy_store.h"

namespace lambent::api {

using http::beast_http::verb;
using nlohmann::json;

namespace {

http::Response NoPolicy() {
  return ErrorResponse(404, "ResourceNotFoundException", "The resource you requested does not exist.");
}

http::Response Handle(ApiContext& context, const RequestTarget& target, const FunctionRef& ref, verb method,
                      const std::string& body_text) {
  permissions::PolicyStore& store = *context.policies;
  // The policy belongs to what the qualifier names: the function, a version or an alias.
  if (auto found = context.registry.Resolve(ref.name, ref.qualifier); !found) {
    return RegistryError(context, ref.name, found.error());
  }
  std::string qualifier = ref.qualifier == "$LATEST" ? "" : ref.qualifier;
  const auto& s = target.segments;
  if (s.size() == 4 && method == verb::get) {
    auto policy = store.Get(ref.name, qualifier);
    if (!policy) return NoPolicy();
    return JsonResponse(200, json{{"Policy", DumpJson(policy->Document())}, {"RevisionId", policy->revision_id}});
  }
  if (s.size() == 4 && method == verb::post) {
    json body = json::parse(body_text, nullptr, false);
    auto request = permissions::ParsePermission(body);
    if (!request) return ErrorResponse(request.error());
    std::string revision = body.is_object() ? body.value("RevisionId", "") : "";
    json statement = permissions::Statement(*request, context.FunctionArn(ref.name, qualifier));
    auto added = store.Add(ref.name, qualifier, statement, revision);
    if (!added) {
      if (added.error().code() == ErrorCode::kConflict) {
        return ErrorResponse(409, "ResourceConflictException", added.error().message());
      }
      return ErrorResponse(added.error());
    }
    return JsonResponse(201, json{{"Statement", DumpJson(statement)}});
  }
  if (s.size() == 5 && method == verb::delete_) {
    auto removed = store.Remove(ref.name, qualifier, s[4], target.Query("RevisionId").value_or(""));
    if (!removed) {
      if (removed.error().code() == ErrorCode::kNotFound) {
        return ErrorResponse(404, "ResourceNotFoundException", removed.error().message());
      }
      return ErrorResponse(removed.error());
    }
    return http::MakeResponse(204, "", "");
  }
  return ErrorResponse(404, "UnknownOperationException", "Unknown operation");
}

}  // namespace

void RoutePolicy(ApiContext& context, const RequestTarget& target, const FunctionRef& ref, http::Request& request,
                 http::Responder& respond) {
  if (!context.policies) return respond(ErrorResponse(404, "UnknownOperationException", "Unknown operation"));
  boost::asio::post(context.workers, [&context, target, ref, method = request.method(),
                                      body = std::move(request.body()), respond = std::move(respond)]() mutable {
    http::Response response;
    try {
      response = Handle(context, target, ref, method, body);
    } catch (const std::exception& e) {
      response = ErrorResponse(Error::Internal(e.what()));
    }
    respond(std::move(response));
  });
}

}  // namespace lambent::api
