#include "api/environments.h"

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "base/json.h"
#include "registry/function_config.h"

namespace lambent::api {
namespace {

using nlohmann::json;

// Milliseconds from `from` to `to`; null when either step was never reached.
json Span(SteadyTime from, SteadyTime to) {
  if (from.time_since_epoch().count() == 0 || to.time_since_epoch().count() == 0) return nullptr;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

json IoMs(std::chrono::nanoseconds spent) {
  if (spent.count() == 0) return nullptr;
  return std::chrono::duration<double, std::milli>(spent).count();
}

// How the environment and its runtime came up, until `up`: the runtime's first /next, or a
// prestarted runtime's request for a function.
json CreationJson(const scheduler::StartupTimeline& t, SteadyTime up) {
  return {
      {"TotalMs", Span(t.begin, up)},
      {"PrepareMs", Span(t.begin, t.prepared)},
      // Of PrepareMs: waiting for the launcher thread (the launches before this one).
      {"QueueMs", Span(t.begin, t.launch_started)},
      {"CloneMs", Span(t.prepared, t.cloned)},
      {"InitExecMs", Span(t.cloned, t.init_started)},
      {"SandboxMs", Span(t.init_started, t.sandboxed)},
      {"RuntimeExecMs", Span(t.sandboxed, t.runtime_started)},
      {"RuntimeInitMs", Span(t.runtime_started, up)},
      // Beside the phases: from the clone until the io thread had the launch back (init ran
      // meanwhile), and what the io thread itself spent on this start.
      {"HandbackMs", Span(t.cloned, t.launched)},
      {"IoThreadMs", IoMs(t.start_io)},
  };
}

// A prestarted environment's cold start for its function begins when it is adopted: the
// code is mounted and the limits set (AssignMs), then the runtime takes the function's
// variables and imports its handler (RuntimeInitMs). How the environment itself came up
// earlier is under Prestart.
json StartupJson(const scheduler::EnvironmentStatus& env) {
  const auto& t = env.startup;
  if (!env.prestarted) return CreationJson(t, t.first_next);
  return {
      {"TotalMs", Span(t.adopted, t.first_next)},
      {"IoThreadMs", IoMs(t.adopt_io)},
      {"AssignMs", Span(t.adopted, t.assigned)},
      {"RuntimeInitMs", Span(t.assigned, t.first_next)},
      {"Prestart", CreationJson(t, t.ready)},
  };
}

}  // namespace

http::Response ListEnvironments(ApiContext& context, const std::string& function) {
  if (!registry::IsValidFunctionName(function)) {
    return ErrorResponse(Error::Invalid("Invalid function name: " + function));
  }
  if (!context.registry.Find(function)) {
    return ErrorResponse(Error::NotFound("Function not found: " + context.FunctionArn(function)));
  }
  json list = json::array();
  for (const auto& env : context.scheduler.Environments(function)) {
    list.push_back({{"Id", env.id},
                    {"State", env.state},
                    {"Version", env.version},
                    {"Provisioned", env.provisioned},
                    {"MemorySize", env.memory_mb},
                    {"RevisionId", env.revision_id},
                    {"InitPid", env.init_pid},
                    {"Zygote", env.from_zygote},
                    {"Invocations", env.invocations},
                    {"Prestarted", env.prestarted},
                    {"Startup", StartupJson(env)}});
  }
  return http::MakeResponse(200, DumpJson(json{{"Environments", list}}));
}

http::Response ListPrestarted(ApiContext& context) {
  json list = json::array();
  for (const auto& env : context.scheduler.Prestarted()) {
    list.push_back({{"Id", env.id},
                    {"State", env.state},
                    {"Runtime", env.runtime},
                    {"MemorySize", env.memory_mb},
                    {"InitPid", env.init_pid},
                    {"Zygote", env.from_zygote},
                    {"Startup", CreationJson(env.startup, env.startup.ready)}});
  }
  return http::MakeResponse(200, DumpJson(json{{"Environments", list}}));
}

}  // namespace lambent::api
