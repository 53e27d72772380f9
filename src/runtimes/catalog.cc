#include "runtimes/catalog.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include <fmt/format.h>

namespace lambent::runtimes {
namespace {

const std::regex kPython(R"(python3\.\d+)");
const std::regex kNode(R"(nodejs(\d+\.x)?)");
const std::regex kProvided(R"(provided(\.al2|\.al2023)?)");

// The host interpreter, preferring the distribution's own over anything earlier on PATH
// (a per-user shim is not something an execution environment can rely on).
std::string FindInterpreter(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

std::string VersionOf(const std::string& interpreter) {
  std::string command = fmt::format("'{}' --version 2>&1", interpreter);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "unknown";
  char buffer[256] = {};
  std::string out;
  while (std::fgets(buffer, sizeof(buffer), pipe)) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

RuntimeFamily Interpreted(const std::string& pattern, const std::string& binary) {
  RuntimeFamily family{pattern, FindInterpreter(binary), "", false};
  if (family.interpreter.empty()) {
    family.version = fmt::format("{} not found on this host", binary);
  } else {
    family.version = VersionOf(family.interpreter);
    family.available = true;
  }
  return family;
}

}  // namespace

Catalog Catalog::Discover(std::filesystem::path runtimes_dir) {
  Catalog catalog;
  catalog.runtimes_dir_ = std::move(runtimes_dir);
  catalog.families_.push_back(Interpreted("python3.x", "python3"));
  catalog.families_.push_back(Interpreted("nodejs*", "node"));
  catalog.families_.push_back({"provided, provided.al2, provided.al2023", "", "the package's bootstrap", true});
  return catalog;
}

bool Catalog::IsProvided(const std::string& runtime) { return std::regex_match(runtime, kProvided); }

Result<void> Catalog::Validate(const std::string& runtime) const {
  const RuntimeFamily* family = nullptr;
  if (std::regex_match(runtime, kPython)) family = &families_[0];
  if (std::regex_match(runtime, kNode)) family = &families_[1];
  if (IsProvided(runtime)) family = &families_[2];
  if (!family) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "Value {} at 'runtime' failed to satisfy constraint: lambent runs python3.x, nodejs*, "
        "provided, provided.al2 and provided.al2023",
        runtime)));
  }
  if (!family->available) {
    return tl::unexpected(Error::Invalid(
        fmt::format("The runtime parameter of {} is not available on this host: {}", runtime,
                    family->version)));
  }
  return Ok();
}

Result<std::vector<std::string>> Catalog::Command(const std::string& runtime,
                                                  const std::filesystem::path& task_root,
                                                  std::filesystem::path runtimes_dir) const {
  if (auto ok = Validate(runtime); !ok) return tl::unexpected(ok.error());
  if (runtimes_dir.empty()) runtimes_dir = runtimes_dir_;
  if (std::regex_match(runtime, kPython)) {
    return std::vector<std::string>{families_[0].interpreter,
                                    (runtimes_dir / "python" / "bootstrap.py").string()};
  }
  if (std::regex_match(runtime, kNode)) {
    return std::vector<std::string>{families_[1].interpreter,
                                    (runtimes_dir / "node" / "bootstrap.cjs").string()};
  }
  return std::vector<std::string>{(task_root / "bootstrap").string()};
}

std::vector<std::string> Catalog::NodeHeapFlags(int memory_mb, std::string_view node_options) {
  std::vector<std::string> flags;
  if (node_options.find("--max-old-space-size") == std::string_view::npos) {
    flags.push_back(fmt::format("--max-old-space-size={}", memory_mb * 90 / 100));
  }
  if (node_options.find("--max-semi-space-size") == std::string_view::npos) {
    flags.push_back(fmt::format("--max-semi-space-size={}", std::max(2, memory_mb / 2048)));
  }
  return flags;
}

std::string Catalog::ExecutionEnv(const std::string& runtime) {
  if (IsProvided(runtime)) return {};
  return "AWS_Lambda_" + runtime;
}

}  // namespace lambent::runtimes
