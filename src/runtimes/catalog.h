#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace lambent::runtimes {

// One family of runtime ids and what runs them on this host.
struct RuntimeFamily {
  std::string pattern;      // e.g. "python3.8-3.13"
  std::string interpreter;  // absolute path, empty for provided or when missing
  std::string version;      // the interpreter's own version, or why it is unavailable
  bool available = false;
};

// Which runtime ids lambent runs and with what command. Built once at start-up; read-only
// afterwards, so safe to share between threads.
class Catalog {
 public:
  // `runtimes_dir` holds the built-in bootstraps (python/bootstrap.py, node/bootstrap.cjs).
  static Catalog Discover(std::filesystem::path runtimes_dir);

  // Whether a function may be created with or changed to `runtime`: an id Lambda offers today
  // that this host can run. kInvalidArgument says which of these it is not: an id Lambda does
  // not have, one Lambda no longer accepts, one this host cannot run (java, dotnet, ruby), or
  // one whose interpreter is missing.
  Result<void> Validate(const std::string& runtime) const;
  // When the host's interpreter is not the version `runtime` names (python3.12 on a host
  // with Python 3.11), what a person should be told; nullopt when it matches or for provided.
  std::optional<std::string> VersionWarning(const std::string& runtime) const;
  // The family that runs `runtime` here, or nullptr for an id lambent does not run.
  const RuntimeFamily* FamilyOf(const std::string& runtime) const;
  // The runtime process's argv for a function whose code is in `task_root`. A function
  // created before its runtime id was refused (plain "nodejs") still runs with its family.
  // `runtimes_dir` is where the runtime sees the bootstraps (default: where they are).
  Result<std::vector<std::string>> Command(const std::string& runtime,
                                           const std::filesystem::path& task_root,
                                           std::filesystem::path runtimes_dir = {}) const;
  // node's heap flags for a function of `memory_mb`, as Lambda's node runtime passes them:
  // an old generation of 90% of the memory, so a function that outgrows it gets V8's
  // out-of-memory error rather than the cgroup's kill; and a young generation kept small
  // (2 MB semi-spaces, more above 4 GB), whose scavenges then stay well under a
  // millisecond (V8 grows it to 16 MB by itself, and its scavenges to 2-5 ms). Flags the
  // function sets itself in NODE_OPTIONS are left to it.
  static std::vector<std::string> NodeHeapFlags(int memory_mb, std::string_view node_options);
  // AWS_EXECUTION_ENV for a runtime ("AWS_Lambda_python3.11"); empty for provided.
  static std::string ExecutionEnv(const std::string& runtime);
  static bool IsProvided(const std::string& runtime);

  const std::vector<RuntimeFamily>& families() const { return families_; }
  const std::filesystem::path& runtimes_dir() const { return runtimes_dir_; }

 private:
  std::filesystem::path runtimes_dir_;
  std::vector<RuntimeFamily> families_;  // python, node, provided
};

}  // namespace lambent::runtimes
