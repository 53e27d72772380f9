#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lambent::cli {

// Client commands: each talks to the daemon at `endpoint` over its HTTP API, prints what a
// person needs, and returns the process exit code (0 ok, 1 the request failed, 2 the daemon
// could not be reached or the usage was wrong).

// lambent's own version (`lambent --version`).
inline constexpr const char* kVersion = "0.9.0";

struct DeployOptions {
  std::string dir;  // a directory to zip, or a .zip file to upload as it is
  std::string name;
  std::string runtime;
  std::string handler;
  std::string description;
  int memory_mb = 0;   // 0: leave as is (128 on create)
  int timeout_s = 0;   // 0: leave as is (3 on create)
  std::vector<std::string> env;  // KEY=VALUE
  std::string network;           // "none" or "host"; empty: leave as is
};
int Deploy(const std::string& endpoint, const DeployOptions& options);

struct InvokeOptions {
  std::string name;
  std::string payload;
  std::string payload_file;
  std::string qualifier;
  bool log = false;
  bool async = false;
};
int Invoke(const std::string& endpoint, const InvokeOptions& options);

int List(const std::string& endpoint, bool json_output);
int Get(const std::string& endpoint, const std::string& name);
int Remove(const std::string& endpoint, const std::string& name);
struct LogsOptions {
  std::string name;
  std::optional<size_t> tail;  // the last N lines; everything when not given (0: none)
  bool follow = false;
  bool timestamps = false;
};
int Logs(const std::string& endpoint, const LogsOptions& options);
// The daemon's health: whether it answers, its functions and live environments.
int Status(const std::string& endpoint);
int Runtimes(const std::string& endpoint);
// Prints which protections this host allows the daemon to apply, without a daemon.
int Doctor();

}  // namespace lambent::cli
