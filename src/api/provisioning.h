#pragma once

#include <map>
#include <string>

#include "registry/registry.h"
#include "scheduler/scheduler.h"

namespace lambent::api {

// What provisioned concurrency asks of each version of `function`, from its settings: a
// configuration on a version counts for that version, one on an alias for the alias's
// FunctionVersion (not its weighted additional version), and counts on the same version add
// up. Empty when the function is gone or provisions nothing. Hand the result to
// Scheduler::SetProvisioned after every change of a function's provisioned configurations,
// aliases or versions, and for every function once the registry is loaded. Thread-safe.
std::map<std::string, scheduler::ProvisionedTarget> ProvisionedTargets(
    const registry::Registry& registry, const std::string& function);

}  // namespace lambent::api
