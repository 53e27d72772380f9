#include "api/status.h"

#include <map>
#include <nlohmann/json.hpp>

#include "api/common.h"
#include "api/provisioning.h"

namespace lambent::api {

using nlohmann::json;

namespace {

json VersionJson(const scheduler::ScalingStatus& s) {
  json j{{"policy", s.policy},
         {"busy", s.busy},
         {"idle", s.idle},
         {"provisioned", s.provisioned},
         {"starting", s.starting},
         {"queued", s.queued},
         {"throttles", s.throttles},
         {"cold_starts", s.cold_starts},
         {"memory_mb", s.memory_mb},
         {"warm_ms", s.warm_ms ? json(*s.warm_ms) : json(nullptr)},
         {"cold_ms", s.cold_ms ? json(*s.cold_ms) : json(nullptr)}};
  return j;
}

json EmptyVersionJson() {
  scheduler::ScalingStatus none;
  json j = VersionJson(none);
  j["policy"] = nullptr;
  return j;
}

}  // namespace

http::Response Status(ApiContext& context) {
  auto host = context.scheduler.Host();
  auto all = context.registry.AllSettings();
  int64_t reserved_total = 0;
  for (const auto& [name, settings] : all) {
    if (settings.reserved_concurrency) reserved_total += *settings.reserved_concurrency;
  }
  json functions = json::object();
  // Every function the registry has, and any the scheduler still winds down.
  for (const auto& [name, settings] : all) {
    json entry{
        {"reserved_concurrency",
         settings.reserved_concurrency ? json(*settings.reserved_concurrency) : json(nullptr)},
        {"versions", json::object()},
        {"aliases", json::object()},
        {"provisioned", json::object()}};
    if (auto aliases = context.registry.Aliases(name)) {
      for (const auto& alias : *aliases) {
        json a{{"version", alias->version}};
        if (!alias->additional_version.empty()) {
          a["additional_version"] = alias->additional_version;
          a["additional_weight"] = alias->additional_weight;
        }
        entry["aliases"][alias->name] = std::move(a);
      }
    }
    for (const auto& [qualifier, config] : settings.provisioned) {
      entry["provisioned"][qualifier] = {{"requested", config.requested}};
    }
    functions[name] = std::move(entry);
  }
  for (const auto& s : context.scheduler.Scaling()) {
    auto& entry = functions[s.function];
    if (!entry.contains("versions")) {
      entry = {{"reserved_concurrency", nullptr},
               {"versions", json::object()},
               {"aliases", json::object()},
               {"provisioned", json::object()}};
    }
    entry["versions"][s.version] = VersionJson(s);
  }
  // Per version: what provisioned concurrency asks of it and how far it has got.
  for (auto& [name, entry] : functions.items()) {
    for (const auto& [version, target] : ProvisionedTargets(context.registry, name)) {
      auto& v = entry["versions"][version];
      if (v.is_null()) v = EmptyVersionJson();
      auto status = context.scheduler.Provisioned(name, version);
      v["provisioned_requested"] = target.count;
      v["provisioned_status"] = status.status.empty() ? json(nullptr) : json(status.status);
      if (!status.reason.empty()) v["provisioned_reason"] = status.reason;
    }
  }
  json body{{"host",
             {{"memory_budget_mb", host.memory_budget_mb},
              {"memory_in_use_mb", host.memory_in_use_mb},
              {"concurrency_limit", host.concurrency_limit},
              {"unreserved_floor", host.unreserved_floor},
              {"unreserved_concurrency", int64_t(host.concurrency_limit) - reserved_total},
              {"running", host.running},
              {"prestarted", host.prestarted},
              {"evictions", host.evictions},
              {"environments", context.scheduler.environments()}}},
            {"functions", std::move(functions)}};
  return JsonResponse(200, body);
}

}  // namespace lambent::api
