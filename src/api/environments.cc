#include "api/environments.h"

#include <nlohmann/json.hpp>

#include "api/errors.h"

namespace lambent::api {
namespace {

using nlohmann::json;

// Milliseconds from `from` to `to`; null when either step was never reached.
json Span(SteadyTime from, SteadyTime to) {
  if (from.time_since_epoch().count() == 0 || to.time_since_epoch().count() == 0) return nullptr;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

json StartupJson(const scheduler::StartupTimeline& t) {
  return {
      {"TotalMs", Span(t.begin, t.first_next)},
      {"PrepareMs", Span(t.begin, t.prepared)},
      {"CloneMs", Span(t.prepared, t.cloned)},
      {"InitExecMs", Span(t.cloned, t.init_started)},
      {"SandboxMs", Span(t.init_started, t.sandboxed)},
      {"RuntimeExecMs", Span(t.sandboxed, t.runtime_started)},
      {"RuntimeInitMs", Span(t.runtime_started, t.first_next)},
  };
}

}  // namespace

http::Response ListEnvironments(ApiContext& context, const std::string& function) {
  if (!context.registry.Find(function)) {
    return ErrorResponse(Error::NotFound("Function not found: " + context.FunctionArn(function)));
  }
  json list = json::array();
  for (const auto& env : context.scheduler.Environments(function)) {
    list.push_back({{"Id", env.id},
                    {"State", env.state},
                    {"RevisionId", env.revision_id},
                    {"InitPid", env.init_pid},
                    {"Invocations", env.invocations},
                    {"Startup", StartupJson(env.startup)}});
  }
  return http::MakeResponse(200, json{{"Environments", list}}.dump());
}

}  // namespace lambent::api
