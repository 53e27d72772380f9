// `lambent mappings`: which queues trigger which functions, and how each mapping is doing.
#include "cli/mapping_commands.h"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"

namespace lambent::cli {

using nlohmann::json;

namespace {

// "name" or "name:qualifier" from a FunctionArn; "queue" from an SQS ARN.
std::string LastParts(const std::string& arn, size_t from_part) {
  size_t pos = 0;
  for (size_t i = 0; i < from_part && pos != std::string::npos; ++i) {
    pos = arn.find(':', pos);
    if (pos != std::string::npos) ++pos;
  }
  return pos == std::string::npos ? arn : arn.substr(pos);
}

}  // namespace

CLI::App* AddMappingsCommand(CLI::App& app, MappingsOptions& o) {
  auto* cmd = app.add_subcommand(
      "mappings", "list event source mappings: which queue runs which function, in what state");
  cmd->add_option("function", o.function, "only this function's (NAME or NAME:QUALIFIER)");
  cmd->add_flag("--json", o.json_output, "print the mapping documents");
  return cmd;
}

int Mappings(const std::string& endpoint, const MappingsOptions& o) {
  std::string path = "/2015-03-31/event-source-mappings/";
  if (!o.function.empty()) path += "?FunctionName=" + Escape(o.function);
  int exit_code = 0;
  auto mappings = ListAll(endpoint, path, "EventSourceMappings", &exit_code);
  if (!mappings) return exit_code;
  if (o.json_output) {
    std::cout << mappings->dump(2) << "\n";
    return 0;
  }
  if (mappings->empty()) {
    std::cout << "no event source mappings\n";
    return 0;
  }
  std::cout << fmt::format("{:<36}  {:<24}  {:<24}  {:<9}  {:>5}  {:>6}  {}\n", "UUID", "QUEUE",
                           "FUNCTION", "STATE", "BATCH", "WINDOW", "LAST RESULT");
  for (const auto& m : *mappings) {
    std::string line = fmt::format(
        "{:<36}  {:<24}  {:<24}  {:<9}  {:>5}  {:>5}s  {}", m.value("UUID", ""),
        LastParts(m.value("EventSourceArn", ""), 5), LastParts(m.value("FunctionArn", ""), 6),
        m.value("State", ""), m.value("BatchSize", 0), m.value("MaximumBatchingWindowInSeconds", 0),
        m.value("LastProcessingResult", ""));
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << "\n";
  }
  return 0;
}

}  // namespace lambent::cli
