#include "api/scheduler_updates.h"

#include <boost/asio/post.hpp>

#include "api/provisioning.h"

namespace lambent::api {

void PostRetire(ApiContext& context, const std::string& function, const std::string& version,
                registry::ConfigPtr latest) {
  boost::asio::post(context.io, [&context, function, version, latest = std::move(latest)] {
    context.scheduler.Retire(function, version, latest);
  });
}

void PostRetireFunction(ApiContext& context, const std::string& function) {
  boost::asio::post(context.io,
                    [&context, function] { context.scheduler.RetireFunction(function); });
}

void PostReservedConcurrency(ApiContext& context, const std::string& function) {
  boost::asio::post(context.io, [&context, function] {
    auto settings = context.registry.Settings(function);
    // A function deleted meanwhile had its reservation dropped with it.
    if (!settings) return;
    context.scheduler.SetReservedConcurrency(function, settings->reserved_concurrency);
  });
}

void PostProvisioned(ApiContext& context, const std::string& function) {
  boost::asio::post(context.io, [&context, function] {
    if (!context.registry.Find(function)) return;
    context.scheduler.SetProvisioned(function, ProvisionedTargets(context.registry, function));
  });
}

}  // namespace lambent::api
