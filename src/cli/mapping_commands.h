#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace lambent::cli {

// `lambent mappings [FUNCTION]`: the event source mappings (ListEventSourceMappings), all of
// them or a function's.
struct MappingsOptions {
  std::string function;  // empty: every function's
  bool json_output = false;
};
// Declares `mappings` on `app`, filling `options` when parsed.
CLI::App* AddMappingsCommand(CLI::App& app, MappingsOptions& options);
int Mappings(const std::string& endpoint, const MappingsOptions& options);

}  // namespace lambent::cli
