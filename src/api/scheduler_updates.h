#pragma once

#include <string>

#include "api/api_context.h"
#include "registry/registry.h"

// The scheduler lives on the io thread; control-plane handlers run on the workers. These post
// what a registry change means for running environments to the io thread, in the order the
// changes were made. Each reads the registry when it runs there, so the last one posted
// leaves the scheduler with the registry's latest state. Thread-safe; `context` must outlive
// the io loop.
namespace lambent::api {

// A version changed (`latest`: the new $LATEST) or is gone (null).
void PostRetire(ApiContext& context, const std::string& function, const std::string& version,
                registry::ConfigPtr latest);
// The function is gone with every version, reservation and provisioned configuration.
void PostRetireFunction(ApiContext& context, const std::string& function);
// The function's reserved concurrency as the registry now has it.
void PostReservedConcurrency(ApiContext& context, const std::string& function);
// The function's provisioned concurrency as the registry now has it (ProvisionedTargets).
void PostProvisioned(ApiContext& context, const std::string& function);

}  // namespace lambent::api
