#include <fmt/format.h>

#include <algorithm>

#include "api/common.h"
#include "api/concurrency.h"
#include "api/errors.h"
#include "api/functions.h"
#include "api/scheduler_updates.h"
#include "base/clock.h"

namespace lambent::api {

using nlohmann::json;

namespace {

std::optional<http::Response> RefuseMissingQualifier(const FunctionRef& ref) {
  if (!ref.qualifier.empty()) return std::nullopt;
  return ErrorResponse(Error::Invalid(
      "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member "
      "must not be null"));
}

// The version a qualifier provisions, or the answer when it names nothing: a published
// version's own number, or an alias's FunctionVersion.
tl::expected<std::string, http::Response> ProvisionedVersion(const ApiContext& context,
                                                             const FunctionRef& ref) {
  if (!context.registry.Find(ref.name)) return tl::unexpected(FunctionNotFound(context, ref.name));
  if (IsVersionNumber(ref.qualifier)) {
    if (!context.registry.FindVersion(ref.name, ref.qualifier)) {
      return tl::unexpected(FunctionNotFound(context, ref.name, ref.qualifier));
    }
    return ref.qualifier;
  }
  auto alias = context.registry.FindAlias(ref.name, ref.qualifier);
  if (!alias) {
    return tl::unexpected(ErrorResponse(
        Error::NotFound("Cannot find alias arn: " + context.FunctionArn(ref.name, ref.qualifier))));
  }
  return alias->version;
}

// The version a Get or Delete of the configuration on `ref`'s qualifier is about, or the
// answer: the qualifier is required, and $LATEST is never provisioned.
tl::expected<std::string, http::Response> ConfiguredVersion(const ApiContext& context,
                                                            const FunctionRef& ref) {
  if (auto refused = RefuseMissingQualifier(ref)) return tl::unexpected(std::move(*refused));
  if (ref.qualifier == "$LATEST") {
    return tl::unexpected(ErrorResponse(
        Error::Invalid("The function resource provided must be an alias or a published version.")));
  }
  return ProvisionedVersion(context, ref);
}

json ConfigJson(const registry::ProvisionedConfig& config,
                const scheduler::ProvisionedStatus& status) {
  json j{{"RequestedProvisionedConcurrentExecutions", config.requested},
         {"AvailableProvisionedConcurrentExecutions",
          std::clamp(status.available, 0, config.requested)},
         {"AllocatedProvisionedConcurrentExecutions",
          std::clamp(status.allocated, 0, config.requested)},
         {"Status", status.status.empty() ? "IN_PROGRESS" : status.status},
         {"LastModified", FormatLambdaTimestamp(config.last_modified_ms)}};
  if (!status.reason.empty()) j["StatusReason"] = status.reason;
  return j;
}

}  // namespace

http::Response PutProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref,
                                               const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseMissingQualifier(ref)) return std::move(*refused);
  auto it = body->find("ProvisionedConcurrentExecutions");
  if (it == body->end() || it->is_null()) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must not be null"));
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1000000) {
    return ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1",
        it->dump())));
  }
  int requested = int(it->get<int64_t>());
  if (ref.qualifier == "$LATEST") {
    return ErrorResponse(Error::Invalid(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."));
  }
  auto version = ProvisionedVersion(context, ref);
  if (!version) return version.error();

  std::lock_guard lock(context.concurrency_mutex);
  auto all = context.registry.AllSettings();
  auto self = all.find(ref.name);
  if (self == all.end()) return FunctionNotFound(context, ref.name);
  const auto& settings = self->second;
  // A version is provisioned either directly or through an alias, never both.
  for (const auto& [qualifier, config] : settings.provisioned) {
    if (qualifier == ref.qualifier) continue;
    if (IsVersionNumber(ref.qualifier)) {
      auto alias = context.registry.FindAlias(ref.name, qualifier);
      if (alias && alias->version == ref.qualifier) {
        return ErrorResponse(
            Error::Conflict("Version is pointed by a Provisioned Concurrency alias"));
      }
    } else if (qualifier == *version) {
      return ErrorResponse(
          Error::Conflict("Alias can't be used for Provisioned Concurrency configuration on an "
                          "already Provisioned version"));
    }
  }
  int64_t others = 0;
  for (const auto& [qualifier, config] : settings.provisioned) {
    if (qualifier != ref.qualifier) others += config.requested;
  }
  if (settings.reserved_concurrency) {
    if (others + requested > *settings.reserved_concurrency) {
      return ErrorResponse(
          Error::Invalid("Requested Provisioned Concurrency should not be greater than the "
                         "reservedConcurrentExecution for function"));
    }
  } else {
    // Without a reservation, provisioned environments come out of the unreserved pool.
    int64_t unreserved = context.scheduler.concurrency_limit();
    for (const auto& [name, s] : all) {
      if (s.reserved_concurrency) {
        unreserved -= *s.reserved_concurrency;
      } else if (name != ref.name) {
        for (const auto& [q, c] : s.provisioned) unreserved -= c.requested;
      }
    }
    if (unreserved - others - requested < context.scheduler.unreserved_floor()) {
      return ErrorResponse(Error::Invalid(
          fmt::format("Specified ConcurrentExecutions for function decreases account's "
                      "UnreservedConcurrentExecution below its minimum value of [{}].",
                      context.scheduler.unreserved_floor())));
    }
  }
  registry::ProvisionedConfig config{requested, NowEpochMs()};
  if (auto ok = context.registry.SetProvisioned(ref.name, ref.qualifier, config); !ok) {
    if (ok.error().code() == ErrorCode::kNotFound) {
      auto again = ProvisionedVersion(context, ref);
      if (!again) return again.error();
    }
    return ErrorResponse(ok.error());
  }
  PostProvisioned(context, ref.name);
  return JsonResponse(202, ConfigJson(config, scheduler::ProvisionedStatus{}));
}

http::Response DeleteProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref) {
  auto version = ConfiguredVersion(context, ref);
  if (!version) return version.error();
  std::lock_guard lock(context.concurrency_mutex);
  auto settings = context.registry.Settings(ref.name);
  if (!settings) return FunctionNotFound(context, ref.name);
  // Deleting what is not there succeeds, as on Lambda.
  if (!settings->provisioned.contains(ref.qualifier)) return http::MakeResponse(204, "", "");
  if (auto ok = context.registry.SetProvisioned(ref.name, ref.qualifier, std::nullopt); !ok) {
    return RegistryError(context, ref.name, ok.error());
  }
  PostProvisioned(context, ref.name);
  return http::MakeResponse(204, "", "");
}

http::Response GetProvisionedConcurrencyConfig(ApiContext& context, const FunctionRef& ref) {
  auto version = ConfiguredVersion(context, ref);
  if (!version) return version.error();
  auto settings = context.registry.Settings(ref.name);
  if (!settings) return FunctionNotFound(context, ref.name);
  auto it = settings->provisioned.find(ref.qualifier);
  if (it == settings->provisioned.end()) {
    return ErrorResponse(404, "ProvisionedConcurrencyConfigNotFoundException",
                         "No Provisioned Concurrency Config found for this function");
  }
  return JsonResponse(200,
                      ConfigJson(it->second, context.scheduler.Provisioned(ref.name, *version)));
}

http::Response ListProvisionedConcurrencyConfigs(ApiContext& context, const FunctionRef& ref,
                                                 const RequestTarget& target) {
  if (auto refused = RefuseQualifier(ref, false)) return std::move(*refused);
  auto page = ParsePage(target, 50, 50);
  if (!page) return ErrorResponse(page.error());
  auto settings = context.registry.Settings(ref.name);
  if (!settings) return RegistryError(context, ref.name, settings.error());
  // By qualifier; the marker is the qualifier to resume at.
  json list = json::array();
  std::string next;
  for (const auto& [qualifier, config] : settings->provisioned) {
    if (qualifier < page->marker) continue;
    if (int(list.size()) == page->max_items) {
      next = qualifier;
      break;
    }
    std::string version = qualifier;
    if (!IsVersionNumber(qualifier)) {
      auto alias = context.registry.FindAlias(ref.name, qualifier);
      if (!alias) continue;
      version = alias->version;
    }
    json item = ConfigJson(config, context.scheduler.Provisioned(ref.name, version));
    item["FunctionArn"] = context.FunctionArn(ref.name, qualifier);
    list.push_back(std::move(item));
  }
  json body{{"ProvisionedConcurrencyConfigs", std::move(list)}};
  if (!next.empty()) body["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, body);
}

}  // namespace lambent::api
