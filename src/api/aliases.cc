#include "api/aliases.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/common.h"
#include "api/errors.h"
#include "api/function_json.h"
#include "api/functions.h"
#include "api/scheduler_updates.h"
#include "permissions/policy_store.h"
#include "urls/url_directory.h"

namespace lambent::api {

using nlohmann::json;

namespace {

json AliasJson(const ApiContext& context, const registry::Alias& alias) {
  json j{{"AliasArn", context.FunctionArn(alias.function, alias.name)},
         {"Name", alias.name},
         {"FunctionVersion", alias.version},
         {"Description", alias.description},
         {"RevisionId", alias.revision_id}};
  if (!alias.additional_version.empty()) {
    j["RoutingConfig"] = {
        {"AdditionalVersionWeights", {{alias.additional_version, alias.additional_weight}}}};
  }
  return j;
}

http::Response AliasNotFound(const ApiContext& context, const std::string& function,
                             const std::string& alias) {
  return ErrorResponse(
      Error::NotFound("Cannot find alias arn: " + context.FunctionArn(function, alias)));
}

// RoutingConfig.AdditionalVersionWeights as the request has it: nullopt when absent, an empty
// route ("" at 0) when present and empty (UpdateAlias then removes the routing).
struct Route {
  std::string version;
  double weight = 0;
};
Result<std::optional<Route>> ParseRoutingConfig(const json& body) {
  auto it = body.find("RoutingConfig");
  if (it == body.end() || it->is_null()) return std::optional<Route>();
  if (!it->is_object()) {
    return tl::unexpected(
        Error::Invalid("1 validation error detected: Value at 'RoutingConfig' must be an object"));
  }
  auto weights = it->find("AdditionalVersionWeights");
  if (weights == it->end() || weights->is_null()) return std::optional<Route>(Route{});
  if (!weights->is_object()) {
    return tl::unexpected(
        Error::Invalid("1 validation error detected: Value at "
                       "'RoutingConfig.AdditionalVersionWeights' must be a map "
                       "of version numbers to weights"));
  }
  if (weights->size() > 1) {
    return tl::unexpected(
        Error::Invalid("Number of items in AdditionalVersionWeights cannot be greater than 1"));
  }
  if (weights->empty()) return std::optional<Route>(Route{});
  const std::string& version = weights->begin().key();
  const json& weight = weights->begin().value();
  if (!weight.is_number()) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value at 'routingConfig.additionalVersionWeights' failed to "
        "satisfy constraint: Map value for '{}' must be a number",
        version)));
  }
  double w = weight.get<double>();
  if (!(w >= 0.0 && w <= 1.0)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{{{}={}}}' at "
        "'routingConfig.additionalVersionWeights' "
        "failed to satisfy constraint: Map value must satisfy constraint: [Member must have value "
        "less than or equal to 1.0, Member must have value greater than or equal to 0.0]",
        version, w)));
  }
  if (!IsVersionNumber(version)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{{{}={}}}' at "
        "'routingConfig.additionalVersionWeights' "
        "failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
        "regular expression pattern: [0-9]+]",
        version, w)));
  }
  return std::optional<Route>(Route{version, w});
}

// Checks a route against the alias's version and applies it.
Result<void> ApplyRoute(const ApiContext& context, const Route& route, registry::Alias& alias) {
  if (route.version.empty()) {
    alias.additional_version.clear();
    alias.additional_weight = 0;
    return Ok();
  }
  if (route.version == alias.version) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "Invalid function version {0}. Function version {0} is already included in routing "
        "configuration.",
        alias.version)));
  }
  if (!context.registry.FindVersion(alias.function, route.version)) {
    return tl::unexpected(Error::NotFound("Function not found: " +
                                          context.FunctionArn(alias.function, route.version)));
  }
  alias.additional_version = route.version;
  alias.additional_weight = route.weight;
  return Ok();
}

// A FunctionVersion is $LATEST or a published version's number.
Result<void> ValidateFunctionVersion(const std::string& version) {
  if (version == "$LATEST" || IsVersionNumber(version)) return Ok();
  return tl::unexpected(Error::Invalid(fmt::format(
      "1 validation error detected: Value '{}' at 'functionVersion' failed to satisfy "
      "constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)",
      version)));
}

// What CreateAlias and UpdateAlias both read from the body; nullopt where it has nothing.
struct AliasFields {
  std::optional<std::string> version;
  std::optional<std::string> description;
  std::optional<Route> route;
};
Result<AliasFields> ParseAliasFields(const json& body) {
  auto version = OptionalString(body, "FunctionVersion");
  if (!version) return tl::unexpected(version.error());
  if (*version) {
    if (auto ok = ValidateFunctionVersion(**version); !ok) return tl::unexpected(ok.error());
  }
  auto description = OptionalDescription(body);
  if (!description) return tl::unexpected(description.error());
  auto route = ParseRoutingConfig(body);
  if (!route) return tl::unexpected(route.error());
  return AliasFields{std::move(*version), std::move(*description), std::move(*route)};
}

}  // namespace

http::Response CreateAlias(ApiContext& context, const FunctionRef& ref,
                           const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto name = OptionalString(*body, "Name");
  if (!name) return ErrorResponse(name.error());
  auto fields = ParseAliasFields(*body);
  if (!fields) return ErrorResponse(fields.error());
  if (!*name) {
    return ErrorResponse(
        Error::Invalid("1 validation error detected: Value null at 'name' failed to satisfy "
                       "constraint: Member must "
                       "not be null"));
  }
  if (!fields->version) {
    return ErrorResponse(
        Error::Invalid("1 validation error detected: Value null at 'functionVersion' failed to "
                       "satisfy constraint: "
                       "Member must not be null"));
  }
  if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
  if (!context.registry.FindVersion(ref.name, *fields->version)) {
    return FunctionNotFound(context, ref.name, *fields->version);
  }
  registry::Alias alias;
  alias.function = ref.name;
  alias.name = **name;
  alias.version = *fields->version;
  alias.description = fields->description.value_or("");
  if (fields->route) {
    if (auto ok = ApplyRoute(context, *fields->route, alias); !ok) return ErrorResponse(ok.error());
  }
  auto created = context.registry.CreateAlias(std::move(alias));
  if (!created) {
    if (created.error().code() == ErrorCode::kConflict &&
        context.registry.FindAlias(ref.name, **name)) {
      return ErrorResponse(
          Error::Conflict("Alias already exists: " + context.FunctionArn(ref.name, **name)));
    }
    if (created.error().code() == ErrorCode::kNotFound && !context.registry.Find(ref.name)) {
      return FunctionNotFound(context, ref.name);
    }
    return ErrorResponse(created.error());
  }
  return JsonResponse(201, AliasJson(context, **created));
}

http::Response GetAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
  auto found = context.registry.FindAlias(ref.name, alias);
  if (!found) return AliasNotFound(context, ref.name, alias);
  return JsonResponse(200, AliasJson(context, *found));
}

http::Response UpdateAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias,
                           const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto fields = ParseAliasFields(*body);
  if (!fields) return ErrorResponse(fields.error());
  auto revision = OptionalString(*body, "RevisionId");
  if (!revision) return ErrorResponse(revision.error());
  if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
  if (!context.registry.FindAlias(ref.name, alias)) return AliasNotFound(context, ref.name, alias);
  const auto& version = fields->version;
  if (version && !context.registry.FindVersion(ref.name, *version)) {
    return FunctionNotFound(context, ref.name, *version);
  }
  auto updated = context.registry.UpdateAlias(
      ref.name, alias, revision->value_or(""), [&](registry::Alias& a) -> Result<void> {
        if (version) a.version = *version;
        if (fields->description) a.description = *fields->description;
        if (fields->route) return ApplyRoute(context, *fields->route, a);
        // Lambda refuses an alias whose version is also its additional one.
        if (version && a.additional_version == a.version) {
          return ApplyRoute(context, Route{a.additional_version, a.additional_weight}, a);
        }
        return Ok();
      });
  if (!updated) {
    switch (updated.error().code()) {
      case ErrorCode::kPreconditionFailed:
        return StaleRevision();
      case ErrorCode::kNotFound:
        if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
        if (!context.registry.FindAlias(ref.name, alias))
          return AliasNotFound(context, ref.name, alias);
        return ErrorResponse(updated.error());
      default:
        return ErrorResponse(updated.error());
    }
  }
  // Provisioned concurrency on the alias follows it to its new version.
  PostProvisioned(context, ref.name);
  return JsonResponse(200, AliasJson(context, **updated));
}

http::Response DeleteAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias,
                           const RequestTarget& target) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  if (!context.registry.Find(ref.name)) return FunctionNotFound(context, ref.name);
  // Lambda answers 204 for an alias that does not exist (any more).
  if (!context.registry.FindAlias(ref.name, alias)) return http::MakeResponse(204, "", "");
  auto deleted =
      context.registry.DeleteAlias(ref.name, alias, target.Query("RevisionId").value_or(""));
  if (!deleted) {
    if (deleted.error().code() == ErrorCode::kPreconditionFailed) return StaleRevision();
    if (deleted.error().code() == ErrorCode::kNotFound) return http::MakeResponse(204, "", "");
    return ErrorResponse(deleted.error());
  }
  PostProvisioned(context, ref.name);
  // The alias's URL and policy go with it.
  if (context.urls) {
    if (auto ok = context.urls->Delete(ref.name, alias); !ok && ok.error().code() != ErrorCode::kNotFound) {
      spdlog::warn("the URL of {}:{} stays: {}", ref.name, alias, ok.error().message());
    }
  }
  if (context.policies) {
    if (auto ok = context.policies->DeleteQualifier(ref.name, alias); !ok) {
      spdlog::warn("the policy of {}:{} stays: {}", ref.name, alias, ok.error().message());
    }
  }
  return http::MakeResponse(204, "", "");
}

http::Response ListAliases(ApiContext& context, const FunctionRef& ref,
                           const RequestTarget& target) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto page = ParsePage(target, 10000, 50);
  if (!page) return ErrorResponse(page.error());
  auto version = target.Query("FunctionVersion");
  if (version) {
    if (auto ok = ValidateFunctionVersion(*version); !ok) return ErrorResponse(ok.error());
  }
  auto aliases = context.registry.Aliases(ref.name);
  if (!aliases) return RegistryError(context, ref.name, aliases.error());
  // Sorted by name; the marker is the name to resume at.
  json list = json::array();
  std::string next;
  for (const auto& alias : *aliases) {
    if (alias->name < page->marker) continue;
    if (version && alias->version != *version && alias->additional_version != *version) continue;
    if (int(list.size()) == page->max_items) {
      next = alias->name;
      break;
    }
    list.push_back(AliasJson(context, *alias));
  }
  json body{{"Aliases", std::move(list)}};
  if (!next.empty()) body["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, body);
}

}  // namespace lambent::api
