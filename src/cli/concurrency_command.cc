// `lambent concurrency`: Lambda's reserved concurrency (Put/Get/DeleteFunctionConcurrency) and
// provisioned concurrency (Put/Get/Delete/ListProvisionedConcurrencyConfigs) of one function.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

constexpr const char* kConcurrencyApi = "/2017-10-31/functions";
constexpr const char* kProvisionedApi = "/2019-09-30/functions";

// NAME:QUALIFIER (or a qualified ARN) split into the function and its qualifier.
std::pair<std::string, std::string> SplitQualifier(const std::string& function) {
  size_t colons = std::count(function.begin(), function.end(), ':');
  bool arn = function.starts_with("arn:");
  // name:q, or arn:partition:lambda:region:account:function:name:q
  if ((!arn && colons == 1) || (arn && colons == 7)) {
    auto at = function.rfind(':');
    return {function.substr(0, at), function.substr(at + 1)};
  }
  return {function, ""};
}

// The qualifier a provisioned-concurrency ARN ends with.
std::string QualifierOf(const std::string& arn) { return SplitQualifier(arn).second; }

void PrintProvisioned(const std::string& qualifier, const json& config) {
  std::cout << fmt::format(
      "  provisioned on {:<10} {} requested, {} allocated, {} available, {}{}{}\n", qualifier,
      config.value("RequestedProvisionedConcurrentExecutions", 0),
      config.value("AllocatedProvisionedConcurrentExecutions", 0),
      config.value("AvailableProvisionedConcurrentExecutions", 0), config.value("Status", "?"),
      config.value("StatusReason", "").empty() ? "" : ": ", config.value("StatusReason", ""));
}

int Show(const std::string& endpoint, const std::string& function) {
  auto reserved = Request(endpoint, verb::get,
                          fmt::format("{}/{}/concurrency", kProvisionedApi, Escape(function)));
  if (!reserved.reached) return 2;
  if (!Ok(reserved.response)) return Failed(reserved.response);
  auto doc = Document(reserved.response);
  std::cout << function << "\n";
  if (doc.contains("ReservedConcurrentExecutions") &&
      doc["ReservedConcurrentExecutions"].is_number()) {
    std::cout << fmt::format("  reserved concurrency      {}\n",
                             doc["ReservedConcurrentExecutions"].get<int64_t>());
  } else {
    std::cout << "  reserved concurrency      none (shares the unreserved concurrency)\n";
  }
  int exit_code = 0;
  auto configs = ListAll(
      endpoint,
      fmt::format("{}/{}/provisioned-concurrency?List=ALL", kProvisionedApi, Escape(function)),
      "ProvisionedConcurrencyConfigs", &exit_code);
  if (!configs) return exit_code;
  if (configs->empty()) std::cout << "  provisioned concurrency   none\n";
  for (const auto& config : *configs) {
    PrintProvisioned(QualifierOf(config.value("FunctionArn", "")), config);
  }
  return 0;
}

// Polls until the provisioned environments are READY (0), FAILED (1) or `timeout` passes (1).
int WaitReady(const std::string& endpoint, const std::string& target,
              std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto call = Request(endpoint, verb::get, target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    auto doc = Document(call.response);
    std::string status = doc.value("Status", "");
    if (status == "READY") return 0;
    if (status == "FAILED") {
      std::cerr << fmt::format("lambent: provisioned concurrency FAILED: {}\n",
                               doc.value("StatusReason", ""));
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cerr << fmt::format(
          "lambent: provisioned concurrency still {} after {} s ({} of {} allocated)\n", status,
          timeout.count(), doc.value("AllocatedProvisionedConcurrentExecutions", 0),
          doc.value("RequestedProvisionedConcurrentExecutions", 0));
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

int Concurrency(const std::string& endpoint, const ConcurrencyOptions& o) {
  auto [function, qualifier] = SplitQualifier(o.function);
  if (!o.qualifier.empty()) {
    if (!qualifier.empty() && qualifier != o.qualifier) {
      std::cerr << fmt::format("lambent: {} names qualifier {}, but --qualifier says {}\n",
                               o.function, qualifier, o.qualifier);
      return 2;
    }
    qualifier = o.qualifier;
  }
  bool provisioned_change = o.provisioned || o.no_provisioned;
  if (provisioned_change && qualifier.empty()) {
    std::cerr
        << "lambent: provisioned concurrency belongs to a published version or an alias: give "
           "--qualifier VERSION|ALIAS (or FUNCTION:QUALIFIER)\n";
    return 2;
  }
  if (!provisioned_change && !qualifier.empty() && (o.reserved || o.unreserved)) {
    std::cerr << "lambent: reserved concurrency belongs to the whole function: give it without a "
                 "qualifier\n";
    return 2;
  }
  std::string reserved_target = fmt::format("{}/{}/concurrency", kConcurrencyApi, Escape(function));
  if (o.reserved) {
    auto call = Request(endpoint, verb::put, reserved_target,
                        DumpJson(json{{"ReservedConcurrentExecutions", *o.reserved}}));
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
  } else if (o.unreserved) {
    auto call = Request(endpoint, verb::delete_, reserved_target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
  }
  std::string provisioned_target =
      fmt::format("{}/{}/provisioned-concurrency?Qualifier={}", kProvisionedApi, Escape(function),
                  Escape(qualifier));
  if (o.provisioned) {
    auto call = Request(endpoint, verb::put, provisioned_target,
                        DumpJson(json{{"ProvisionedConcurrentExecutions", *o.provisioned}}));
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    if (o.wait) {
      if (int waited =
              WaitReady(endpoint, provisioned_target, std::chrono::seconds(o.wait_timeout_s));
          waited != 0) {
        return waited;
      }
    }
  } else if (o.no_provisioned) {
    auto call = Request(endpoint, verb::delete_, provisioned_target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
  }
  return Show(endpoint, function);
}

}  // namespace lambent::cli
