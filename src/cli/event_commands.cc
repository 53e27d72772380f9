// `lambent events`: what became of a function's recent asynchronous events.
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

// A table cell of one line: errors can hold newlines and run long.
std::string OneLine(std::string text, size_t width) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

}  // namespace

CLI::App* AddEventsCommand(CLI::App& app, EventsOptions& o) {
  auto* cmd = app.add_subcommand(
      "events", "list a function's recent async events: state, attempts, last error, times");
  cmd->add_option("function", o.function, "FUNCTION")->required();
  cmd->add_option("--state", o.state, "only events in this state")
      ->check(CLI::IsMember({"queued", "running", "retrying", "succeeded", "failed", "expired"}));
  cmd->add_option("--limit", o.limit, "at most this many, newest first (1-1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", o.json_output, "print the event documents");
  return cmd;
}

int Events(const std::string& endpoint, const EventsOptions& o) {
  std::string target =
      "/lambent/v1/functions/" + Escape(o.function) + "/events?limit=" + std::to_string(o.limit);
  if (!o.state.empty()) target += "&state=" + Escape(o.state);
  auto call = Request(endpoint, verb::get, target);
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  json events = Document(call.response).value("Events", json::array());
  if (o.json_output) {
    std::cout << events.dump(2) << "\n";
    return 0;
  }
  if (events.empty()) {
    std::cout << (o.state.empty() ? "no recent async events\n"
                                  : fmt::format("no recent async events {}\n", o.state));
    return 0;
  }
  std::string header =
      fmt::format("{:<36}  {:<9}  {:<9}  {:>8}  {:<24}  {:<24}  {}", "REQUEST ID", "QUALIFIER",
                  "STATE", "ATTEMPTS", "ENQUEUED", "UPDATED", "LAST ERROR");
  std::cout << header << "\n";
  for (const auto& event : events) {
    std::string line =
        fmt::format("{:<36}  {:<9}  {:<9}  {:>8}  {:<24}  {:<24}  {}", event.value("RequestId", ""),
                    event.value("Qualifier", ""), event.value("State", ""),
                    event.value("Attempts", 0), event.value("EnqueuedAt", ""),
                    event.value("UpdatedAt", ""), OneLine(event.value("LastError", ""), 80));
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << "\n";
  }
  return 0;
}

}  // namespace lambent::cli
