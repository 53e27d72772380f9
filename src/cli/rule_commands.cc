// `lambent schedule`, `rules` and `emit`: EventBridge rules and events without the AWS CLI.
#include "cli/rule_commands.h"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cli/api_client.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

// One EventBridge operation; nullopt when it failed (already printed; `*code` says how).
std::optional<json> Events(const std::string& endpoint, const std::string& operation, const json& body, int* code) {
  auto call = Request(endpoint, verb::post, "/", DumpJson(body),
                      {{"X-Amz-Target", "AWSEvents." + operation}, {"Content-Type", "application/x-amz-json-1.1"}});
  if (!call.reached) {
    *code = 2;
    return std::nullopt;
  }
  json document = Document(call.response);
  if (!Ok(call.response)) {
    std::cerr << fmt::format("lambent: {}: {}\n", document.value("__type", "error"), document.value("message", ""));
    *code = 1;
    return std::nullopt;
  }
  return document;
}

std::optional<json> RulesDocument(const std::string& endpoint, int count, int* code) {
  auto call = Request(endpoint, verb::get, fmt::format("/lambent/v1/rules?count={}", count));
  if (!call.reached) {
    *code = 2;
    return std::nullopt;
  }
  if (!Ok(call.response)) {
    *code = Failed(call.response);
    return std::nullopt;
  }
  return Document(call.response);
}

int Schedule(const std::string& endpoint, const RuleOptions& o) {
  int code = 0;
  std::string name = o.name.empty() ? o.function + "-schedule" : o.name;
  auto function = Request(endpoint, verb::get, FunctionPath(o.function));
  if (!function.reached) return 2;
  if (!Ok(function.response)) return Failed(function.response);
  std::string arn = Document(function.response).value("Configuration", json::object()).value("FunctionArn", "");
  auto rule = Events(endpoint, "PutRule", {{"Name", name}, {"ScheduleExpression", o.expression}}, &code);
  if (!rule) return code;
  json target{{"Id", "1"}, {"Arn", arn}};
  if (!o.input.empty()) {
    if (!json::accept(o.input)) {
      std::cerr << "lambent: --input must be JSON\n";
      return 2;
    }
    target["Input"] = o.input;
  }
  auto targets = Events(endpoint, "PutTargets", {{"Rule", name}, {"Targets", json::array({target})}}, &code);
  if (!targets) return code;
  if (targets->value("FailedEntryCount", 0) > 0) {
    std::cerr << "lambent: " << (*targets)["FailedEntries"][0].value("ErrorMessage", "target refused") << "\n";
    return 1;
  }
  std::cout << fmt::format("{} runs {} on {}\n", name, o.function, o.expression);
  auto rules = RulesDocument(endpoint, 3, &code);
  if (!rules) return code;
  for (const json& r : (*rules)["Rules"]) {
    if (r.value("Name", "") == name && r.value("EventBusName", "") == "default") {
      for (const json& t : r.value("NextFirings", json::array())) std::cout << "  next: " << t.get<std::string>() << "\n";
    }
  }
  return 0;
}

int List(const std::string& endpoint, const RuleOptions& o) {
  int code = 0;
  auto rules = RulesDocument(endpoint, o.count, &code);
  if (!rules) return code;
  if (o.json_output) {
    std::cout << (*rules).dump(2) << "\n";
    return 0;
  }
  const json& list = (*rules)["Rules"];
  if (list.empty()) {
    std::cout << "no rules\n";
    return 0;
  }
  for (const json& r : list) {
    std::string bus = r.value("EventBusName", "default");
    std::string what = r.contains("ScheduleExpression") ? r["ScheduleExpression"].get<std::string>()
                                                         : "pattern " + r.value("EventPattern", "");
    std::cout << fmt::format("{}{}  {}  {}\n", bus == "default" ? "" : bus + "/", r.value("Name", ""), what,
                             r.value("State", ""));
    for (const json& t : r.value("Targets", json::array())) std::cout << "  -> " << t.get<std::string>() << "\n";
    for (const json& t : r.value("NextFirings", json::array())) std::cout << "  next: " << t.get<std::string>() << "\n";
  }
  return 0;
}

int Remove(const std::string& endpoint, const RuleOptions& o) {
  int code = 0;
  json rule{{"Name", o.name}};
  if (!o.bus.empty()) rule["EventBusName"] = o.bus;
  json targets_request{{"Rule", o.name}};
  if (!o.bus.empty()) targets_request["EventBusName"] = o.bus;
  auto targets = Events(endpoint, "ListTargetsByRule", targets_request, &code);
  if (!targets) return code;
  json ids = json::array();
  for (const json& t : (*targets)["Targets"]) ids.push_back(t.value("Id", ""));
  if (!ids.empty()) {
    targets_request["Ids"] = ids;
    if (!Events(endpoint, "RemoveTargets", targets_request, &code)) return code;
  }
  if (!Events(endpoint, "DeleteRule", rule, &code)) return code;
  std::cout << fmt::format("deleted {} ({} target{})\n", o.name, ids.size(), ids.size() == 1 ? "" : "s");
  return 0;
}

int Emit(const std::string& endpoint, const RuleOptions& o) {
  int code = 0;
  if (!json::accept(o.detail)) {
    std::cerr << "lambent: DETAIL must be a JSON object\n";
    return 2;
  }
  json entry{{"Source", o.source}, {"DetailType", o.detail_type}, {"Detail", o.detail}};
  if (!o.bus.empty()) entry["EventBusName"] = o.bus;
  auto answer = Events(endpoint, "PutEvents", {{"Entries", json::array({entry})}}, &code);
  if (!answer) return code;
  const json& result = (*answer)["Entries"][0];
  if (result.contains("ErrorCode")) {
    std::cerr << fmt::format("lambent: {}: {}\n", result.value("ErrorCode", ""), result.value("ErrorMessage", ""));
    return 1;
  }
  std::cout << result.value("EventId", "") << "\n";
  return 0;
}

}  // namespace

std::vector<CLI::App*> AddRuleCommands(CLI::App& app, RuleOptions& o) {
  auto* schedule = app.add_subcommand("schedule", "run a function on a schedule: rate(5 minutes) or cron(0 9 ? * MON-FRI *)");
  schedule->add_option("function", o.function, "the function (NAME or NAME:ALIAS)")->required();
  schedule->add_option("expression", o.expression, "rate(N minutes|hours|days) or cron(min hour dom month dow year), UTC")
      ->required();
  schedule->add_option("--name", o.name, "the rule's name (default FUNCTION-schedule)");
  schedule->add_option("--input", o.input, "the JSON event to send instead of EventBridge's Scheduled Event");
  schedule->callback([&o] { o.action = "schedule"; });

  auto* rules = app.add_subcommand("rules", "list EventBridge rules with their targets and next firings");
  rules->add_option("--count", o.count, "next firings shown per schedule")->check(CLI::Range(1, 100));
  rules->add_flag("--json", o.json_output, "print the rules as JSON");
  rules->callback([&o] {
    if (o.action.empty()) o.action = "ls";
  });
  auto* rm = rules->add_subcommand("rm", "delete a rule and its targets");
  rm->add_option("name", o.name, "the rule")->required();
  rm->add_option("--bus", o.bus, "its event bus (default: default)");
  rm->callback([&o] { o.action = "rm"; });

  auto* emit = app.add_subcommand("emit", "put an event on an event bus (EventBridge PutEvents)");
  emit->add_option("source", o.source, "the event's source, e.g. shop.orders")->required();
  emit->add_option("detail-type", o.detail_type, "its detail-type, e.g. OrderPlaced")->required();
  emit->add_option("detail", o.detail, "its detail, a JSON object (default {})");
  emit->add_option("--bus", o.bus, "the event bus (default: default)");
  emit->callback([&o] { o.action = "emit"; });
  return {schedule, rules, emit};
}

int Rules(const std::string& endpoint, const RuleOptions& o) {
  if (o.action == "schedule") return Schedule(endpoint, o);
  if (o.action == "rm") return Remove(endpoint, o);
  if (o.action == "emit") return Emit(endpoint, o);
  return List(endpoint, o);
}

}  // namespace lambent::cli
