#include "runtimes/catalog.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

namespace lambent::runtimes {
namespace {

// Lambda's runtime identifiers, from its API reference. The ones lambent runs:
constexpr std::string_view kPythonIds[] = {"python3.8",  "python3.9",  "python3.10",
                                           "python3.11", "python3.12", "python3.13"};
constexpr std::string_view kNodeIds[] = {"nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x"};
constexpr std::string_view kProvidedIds[] = {"provided", "provided.al2", "provided.al2023"};
// Lambda offers these, but they need a language this host does not run.
constexpr std::string_view kOtherLanguageIds[] = {"java8.al2", "java11",  "java17",  "java21",
                                                  "dotnet8",   "ruby3.2", "ruby3.3", "ruby3.4"};
// Ids Lambda had and no longer accepts for creating or updating a function.
constexpr std::string_view kRetiredIds[] = {
    "nodejs",        "nodejs4.3",     "nodejs4.3-edge", "nodejs6.10",  "nodejs8.10",
    "nodejs10.x",    "nodejs12.x",    "nodejs14.x",     "python2.7",   "python3.6",
    "python3.7",     "java8",         "dotnetcore1.0",  "dotnetcore2.0", "dotnetcore2.1",
    "dotnetcore3.1", "dotnet6",       "go1.x",          "ruby2.5",     "ruby2.7"};

template <size_t N>
bool OneOf(const std::string_view (&ids)[N], std::string_view id) {
  return std::find(std::begin(ids), std::end(ids), id) != std::end(ids);
}

// The language version a runtime id names: "3.12" for python3.12, "22" for nodejs22.x.
std::string RequestedVersion(const std::string& runtime) {
  if (runtime.starts_with("python")) return runtime.substr(6);
  if (runtime.starts_with("nodejs")) return runtime.substr(6, runtime.find('.') - 6);
  return {};
}

// The same part of an interpreter's own version: "Python 3.11.7" -> "3.11", "v20.1.0" -> "20".
std::string HostVersion(const std::string& version_text, bool major_only) {
  auto start = version_text.find_first_of("0123456789");
  if (start == std::string::npos) return {};
  auto first_dot = version_text.find('.', start);
  if (major_only || first_dot == std::string::npos) return version_text.substr(start, first_dot - start);
  auto second_dot = version_text.find_first_not_of("0123456789", first_dot + 1);
  return version_text.substr(start, second_dot == std::string::npos ? second_dot : second_dot - start);
}

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
  catalog.families_.push_back(Interpreted("python3.8-3.13", "python3"));
  catalog.families_.push_back(Interpreted("nodejs16.x-22.x", "node"));
  catalog.families_.push_back({"provided, provided.al2, provided.al2023", "", "the package's bootstrap", true});
  return catalog;
}

bool Catalog::IsProvided(const std::string& runtime) { return OneOf(kProvidedIds, runtime); }

const RuntimeFamily* Catalog::FamilyOf(const std::string& runtime) const {
  if (OneOf(kPythonIds, runtime)) return &families_[0];
  if (OneOf(kNodeIds, runtime)) return &families_[1];
  if (IsProvided(runtime)) return &families_[2];
  return nullptr;
}

Result<void> Catalog::Validate(const std::string& runtime) const {
  constexpr const char* kRuns =
      "lambent runs python3.8-python3.13, nodejs16.x-nodejs22.x, provided, provided.al2 and "
      "provided.al2023";
  if (OneOf(kRetiredIds, runtime)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "The runtime parameter of {} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating "
        "functions ({}).",
        runtime, kRuns)));
  }
  if (OneOf(kOtherLanguageIds, runtime)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "The runtime parameter of {} is not available on this host: {}. Other languages run as "
        "provided.al2023 with their own bootstrap.",
        runtime, kRuns)));
  }
  const RuntimeFamily* family = FamilyOf(runtime);
  if (!family) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'runtime' failed to satisfy constraint: Member "
        "must satisfy enum value set: [{}, {}, {}, {}]",
        runtime, fmt::join(kPythonIds, ", "), fmt::join(kNodeIds, ", "),
        fmt::join(kProvidedIds, ", "), fmt::join(kOtherLanguageIds, ", "))));
  }
  if (!family->available) {
    return tl::unexpected(Error::Invalid(
        fmt::format("The runtime parameter of {} is not available on this host: {}", runtime,
                    family->version)));
  }
  return Ok();
}

std::optional<std::string> Catalog::VersionWarning(const std::string& runtime) const {
  const RuntimeFamily* family = FamilyOf(runtime);
  if (!family || !family->available || IsProvided(runtime)) return std::nullopt;
  bool node = runtime.starts_with("nodejs");
  std::string wanted = RequestedVersion(runtime);
  std::string host = HostVersion(family->version, node);
  if (wanted == host) return std::nullopt;
  return fmt::format(
      "{} runs on this host's {} ({}), not {} {}: code that needs {} {} may fail here", runtime,
      family->version, family->interpreter, node ? "Node.js" : "Python", wanted,
      node ? "Node.js" : "Python", wanted);
}

Result<std::vector<std::string>> Catalog::Command(const std::string& runtime,
                                                  const std::filesystem::path& task_root,
                                                  std::filesystem::path runtimes_dir) const {
  // Functions stored before an id was refused keep running with the family it names.
  const RuntimeFamily* family = FamilyOf(runtime);
  if (!family && runtime.starts_with("python3")) family = &families_[0];
  if (!family && runtime.starts_with("nodejs")) family = &families_[1];
  if (!family) return tl::unexpected(Validate(runtime).error());
  if (!family->available) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "The runtime parameter of {} is not available on this host: {}", runtime, family->version)));
  }
  if (runtimes_dir.empty()) runtimes_dir = runtimes_dir_;
  if (family == &families_[0]) {
    return std::vector<std::string>{families_[0].interpreter,
                                    (runtimes_dir / "python" / "bootstrap.py").string()};
  }
  if (family == &families_[1]) {
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
