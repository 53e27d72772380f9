#include "api/concurrency.h"

#include <fmt/format.h>

#include "api/common.h"
#include "api/errors.h"
#include "api/functions.h"
#include "api/scheduler_updates.h"

namespace lambent::api {

using nlohmann::json;

namespace {

int ProvisionedTotal(const registry::FunctionSettings& settings) {
  int total = 0;
  for (const auto& [qualifier, config] : settings.provisioned) total += config.requested;
  return total;
}

}  // namespace

http::Response PutFunctionConcurrency(ApiContext& context, const FunctionRef& ref,
                                      const http::Request& request) {
  auto body = ParseJsonBody(request);
  if (!body) return body.error();
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto it = body->find("ReservedConcurrentExecutions");
  if (it == body->end() || it->is_null()) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to "
        "satisfy constraint: Member must not be null"));
  }
  if (!it->is_number_integer()) {
    return ErrorResponse(Error::Invalid(
        "1 validation error detected: Value at 'reservedConcurrentExecutions' must be an integer"));
  }
  int64_t reserved = it->get<int64_t>();
  if (reserved < 0) {
    return ErrorResponse(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'reservedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 0",
        reserved)));
  }
  std::lock_guard lock(context.concurrency_mutex);
  auto all = context.registry.AllSettings();
  auto self = all.find(ref.name);
  if (self == all.end()) return FunctionNotFound(context, ref.name);
  int64_t others = 0;
  for (const auto& [name, settings] : all) {
    if (name != ref.name && settings.reserved_concurrency) others += *settings.reserved_concurrency;
  }
  int limit = context.scheduler.concurrency_limit();
  int floor = context.scheduler.unreserved_floor();
  if (int64_t(limit) - others - reserved < floor) {
    return ErrorResponse(Error::Invalid(
        fmt::format("Specified ReservedConcurrentExecutions for function decreases account's "
                    "UnreservedConcurrentExecution below its minimum value of [{}].",
                    floor)));
  }
  if (int provisioned = ProvisionedTotal(self->second); reserved < provisioned) {
    return ErrorResponse(Error::Invalid(fmt::format(
        "Specified ReservedConcurrentExecutions for function is less than the function's "
        "provisioned concurrency [{}].",
        provisioned)));
  }
  if (auto ok = context.registry.SetReservedConcurrency(ref.name, int(reserved)); !ok) {
    if (ok.error().code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
    return ErrorResponse(ok.error());
  }
  PostReservedConcurrency(context, ref.name);
  return JsonResponse(200, json{{"ReservedConcurrentExecutions", reserved}});
}

http::Response GetFunctionConcurrency(ApiContext& context, const FunctionRef& ref) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  auto settings = context.registry.Settings(ref.name);
  if (!settings) {
    if (settings.error().code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
    return ErrorResponse(settings.error());
  }
  json body = json::object();
  if (settings->reserved_concurrency)
    body["ReservedConcurrentExecutions"] = *settings->reserved_concurrency;
  return JsonResponse(200, body);
}

http::Response DeleteFunctionConcurrency(ApiContext& context, const FunctionRef& ref) {
  if (auto refused = RefuseQualifier(ref)) return std::move(*refused);
  std::lock_guard lock(context.concurrency_mutex);
  if (auto ok = context.registry.SetReservedConcurrency(ref.name, std::nullopt); !ok) {
    if (ok.error().code() == ErrorCode::kNotFound) return FunctionNotFound(context, ref.name);
    return ErrorResponse(ok.error());
  }
  PostReservedConcurrency(context, ref.name);
  return http::MakeResponse(204, "", "");
}

http::Response GetAccountSettings(ApiContext& context) {
  // Lambda counts the code of every function (each stored once per function).
  int64_t total_code_size = 0;
  auto functions = context.registry.List();
  for (const auto& config : functions) total_code_size += config->code_size;
  int64_t reserved = 0;
  for (const auto& [name, settings] : context.registry.AllSettings()) {
    if (settings.reserved_concurrency) reserved += *settings.reserved_concurrency;
  }
  int limit = context.scheduler.concurrency_limit();
  json body{
      {"AccountLimit",
       {{"TotalCodeSize", 80530636800LL},
        {"CodeSizeUnzipped", 262144000},
        {"CodeSizeZipped", 52428800},
        {"ConcurrentExecutions", limit},
        {"UnreservedConcurrentExecutions", int64_t(limit) - reserved}}},
      {"AccountUsage", {{"TotalCodeSize", total_code_size}, {"FunctionCount", functions.size()}}}};
  return JsonResponse(200, body);
}

}  // namespace lambent::api
