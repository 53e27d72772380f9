// `lambent usage`: requests, GB-seconds and cost from the daemon's usage ledger.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

std::string Dollars(double amount) { return fmt::format("${:.8f}", amount); }

// A unit price as its table gives it (0.0000166667, not 1.66667e-05).
std::string Price(double price) {
  std::string text = fmt::format("{:.12f}", price);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.ends_with('.')) text.pop_back();
  return "$" + text;
}

std::string RowKey(const json& row, const std::string& by) {
  if (by == "day") return row.value("day", "");
  if (by == "version") return row.value("function", "") + ":" + row.value("version", "");
  if (by == "function") return row.value("function", "");
  return "TOTAL";
}

std::string TableLine(const std::string& key, const json& f) {
  return fmt::format(
      "{:<32}  {:>9}  {:>7}  {:>9}  {:>12}  {:>14.6f}  {:>14}", key, f.value("requests", 0),
      f.value("errors", 0), f.value("throttles", 0),
      f.value("billed_ms", int64_t(0)) + f.value("init_billed_ms", int64_t(0)),
      f.value("gb_seconds", 0.0) + f.value("provisioned_concurrency_gb_seconds", 0.0),
      Dollars(f["cost"].value("total", 0.0)));
}

}  // namespace

CLI::App* AddUsageCommand(CLI::App& app, UsageOptions& o) {
  auto* cmd = app.add_subcommand(
      "usage", "show requests, billed duration, GB-seconds and cost from the usage ledger");
  const char* time_help =
      "epoch milliseconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or an age such as 2h or 7d";
  cmd->add_option("--since", o.since, std::string("from this time on: ") + time_help);
  cmd->add_option("--until", o.until, std::string("before this time: ") + time_help);
  cmd->add_option("--function", o.function, "only this function (NAME, or NAME:VERSION)");
  cmd->add_option("--by", o.by, "one line per day (UTC), function or function version; total: none")
      ->capture_default_str()
      ->check(CLI::IsMember({"day", "function", "version", "total"}));
  cmd->add_flag("--json", o.json_output, "print the API's document");
  return cmd;
}

int Usage(const std::string& endpoint, const UsageOptions& o) {
  std::string target = "/lambent/v1/usage";
  std::string query;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + Escape(value);
  };
  add("since", o.since);
  add("until", o.until);
  add("function", o.function);
  if (o.by != "total") add("by", o.by);
  auto call = Request(endpoint, verb::get, target + query);
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  json usage = Document(call.response);
  if (o.json_output) {
    std::cout << usage.dump(2) << "\n";
    return 0;
  }
  std::string key_header = o.by == "day"       ? "DAY (UTC)"
                           : o.by == "version" ? "FUNCTION:VERSION"
                                               : "FUNCTION";
  std::cout << fmt::format("{:<32}  {:>9}  {:>7}  {:>9}  {:>12}  {:>14}  {:>14}\n",
                           o.by == "total" ? "" : key_header, "REQUESTS", "ERRORS", "THROTTLES",
                           "BILLED MS", "GB-S", "COST");
  for (const auto& row : usage.value("rows", json::array()))
    std::cout << TableLine(RowKey(row, o.by), row) << "\n";
  const json& totals = usage["totals"];
  std::cout << TableLine("TOTAL", totals) << "\n\n";
  const json& cost = totals["cost"];
  std::cout << fmt::format(
      "cost: requests {}, duration {}, provisioned duration {}, provisioned concurrency {}\n",
      Dollars(cost.value("requests", 0.0)), Dollars(cost.value("duration", 0.0)),
      Dollars(cost.value("provisioned_duration", 0.0)),
      Dollars(cost.value("provisioned_concurrency", 0.0)));
  std::cout << fmt::format(
      "billed: {} ms invoke + {} ms init; {:.6f} GB-s on demand, {:.6f} GB-s on provisioned "
      "environments, "
      "{:.6f} GB-s of provisioned concurrency\n",
      totals.value("billed_ms", int64_t(0)), totals.value("init_billed_ms", int64_t(0)),
      totals.value("on_demand_gb_seconds", 0.0), totals.value("provisioned_gb_seconds", 0.0),
      totals.value("provisioned_concurrency_gb_seconds", 0.0));
  const json& prices = usage["prices"];
  std::cout << fmt::format(
      "prices: {} per 1M requests, {} per GB-s, provisioned concurrency {} per GB-s, provisioned "
      "duration {} "
      "per GB-s\n",
      Price(prices.value("requests_per_million", 0.0)),
      Price(prices.value("duration_gb_second", 0.0)),
      Price(prices.value("provisioned_concurrency_gb_second", 0.0)),
      Price(prices.value("provisioned_duration_gb_second", 0.0)));
  return 0;
}

}  // namespace lambent::cli
