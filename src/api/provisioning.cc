#include "api/provisioning.h"

#include "api/common.h"

namespace lambent::api {

std::map<std::string, scheduler::ProvisionedTarget> ProvisionedTargets(
    const registry::Registry& registry, const std::string& function) {
  std::map<std::string, scheduler::ProvisionedTarget> targets;
  auto settings = registry.Settings(function);
  if (!settings) return targets;
  for (const auto& [qualifier, provisioned] : settings->provisioned) {
    std::string version = qualifier;
    if (!IsVersionNumber(qualifier)) {
      auto alias = registry.FindAlias(function, qualifier);
      if (!alias) continue;  // removed with its alias
      version = alias->version;
    }
    auto config = registry.FindVersion(function, version);
    if (!config || provisioned.requested <= 0) continue;
    auto& target = targets[version];
    target.config = std::move(config);
    target.count += provisioned.requested;
  }
  return targets;
}

}  // namespace lambent::api
