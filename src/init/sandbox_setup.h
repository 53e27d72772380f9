#pragma once

#include <string>

namespace lambent::init {

// Descriptors the daemon hands to a sandboxed init (besides 0-3).
constexpr int kCodeDirFd = 5;      // O_PATH: the function's package, becomes /var/task
constexpr int kRuntimesDirFd = 6;  // O_PATH: lambent's bootstraps, become /var/runtime
constexpr int kSeccompFd = 7;      // the compiled seccomp program

struct SandboxOptions {
  int tmp_size_mb = 512;        // /tmp, the function's ephemeral storage, as a tmpfs
  // The daemon sends /tmp as a detached mount (kTmpMount, disk-backed) before setup starts.
  bool tmp_from_daemon = false;
  int tmp_mount_fd = -1;        // that mount, once received; SetUpSandbox closes it
  bool own_network = true;      // a network namespace with only loopback
  std::string hostname = "lambda";
  bool defer_code = false;      // /var/task stays empty until AttachCode (prestarted)
};

// Turns the fresh namespaces init was started in into the environment: a private mount
// tree with a new root (read-only host /usr and libraries, /var/task, /var/runtime, a
// sized /tmp, fresh /proc, a minimal /dev and /etc), loopback up, rlimits. Runs as root
// of the environment's user namespace. Returns "" or what failed.
std::string SetUpSandbox(const SandboxOptions& options);

// Gives a prestarted environment its function: `code_fd` (a detached mount) becomes
// /var/task, and `tmp_fd` (a detached mount) is mounted over the tmpfs at /tmp or, when that
// is -1, the tmpfs is resized. Before LockDown. Returns "" or what failed.
std::string AttachCode(int code_fd, int tmp_size_mb, int tmp_fd = -1);

// The last step before the runtime: every capability dropped for good, no_new_privs, and
// the seccomp deny-list. Returns "" or what failed.
std::string LockDown();

}  // namespace lambent::init
