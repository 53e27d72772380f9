#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lambent::cli {

// EventBridge for everyday use (rule_commands.cc), spoken in its JSON protocol:
// `lambent schedule FUNCTION EXPRESSION` runs a function on a schedule,
// `lambent rules` lists every rule with its targets and next firings,
// `lambent rules rm NAME` deletes one with its targets, and
// `lambent emit SOURCE DETAIL-TYPE [DETAIL]` puts an event on a bus.
struct RuleOptions {
  std::string action;  // schedule, ls, rm, emit
  std::string function;
  std::string expression;
  std::string name;   // schedule: the rule's name (default FUNCTION-schedule); rm: the rule
  std::string input;  // schedule: the fixed event the function gets instead of the Scheduled Event
  std::string bus;    // rm, emit: the event bus (default: default)
  std::string source;
  std::string detail_type;
  std::string detail = "{}";
  int count = 3;      // ls: next firings shown per schedule
  bool json_output = false;
};
// Declares `schedule`, `rules` (with `rm`) and `emit` on `app`, filling `options`.
std::vector<CLI::App*> AddRuleCommands(CLI::App& app, RuleOptions& options);
int Rules(const std::string& endpoint, const RuleOptions& options);

}  // namespace lambent::cli
