#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "base/thread_check.h"
#include "sandbox/child.h"

namespace lambent::sandbox {

// The python zygote (src/runtimes/python/zygote.py with init/zygote.cc): an interpreter with
// lambent's runtime client imported that clones environments as the spawner does and forks
// each one's runtime from itself. Its socket is a SandboxLaunch::zygote_fd.
struct Zygote {
  Child process;
  Fd socket;
};

// Starts `python` on zygote.py in the runtimes directory (`runtimes_dir_fd`), with
// `library` (liblambent-zygote.so) open for it and `env` as its environment: the variables
// an interpreter reads as it starts, the same as every function's it will serve. Like
// StartSpawner, must be called from a thread that lives as long as the daemon; its socket
// serves one request at a time.
Result<Zygote> StartZygote(const std::string& python, int runtimes_dir_fd, const std::string& library,
                           const std::vector<std::string>& env);

// The daemon's python zygote, started on first use by the thread that uses it (the
// LaunchThread, which lives as long as the daemon) and started again after it failed, a few
// times at most: a zygote that keeps failing leaves python's cold starts to the spawner.
class ZygoteKeeper {
 public:
  ZygoteKeeper(std::string python, int runtimes_dir_fd, std::string library)
      : python_(std::move(python)), runtimes_dir_fd_(runtimes_dir_fd), library_(std::move(library)) {}
  // The zygote's socket, started with `env` when none runs; -1 when it cannot be had, or
  // when it runs with other variables than `env` (in any order): a runtime forked from it
  // would not be the one `env` starts.
  int Socket(const std::vector<std::string>& env);
  // The last request through Socket() failed: the zygote is stopped.
  void Failed();
  bool running() const { return zygote_.has_value(); }

 private:
  static constexpr int kMaxStarts = 4;
  std::string python_;
  int runtimes_dir_fd_;
  std::string library_;
  std::optional<Zygote> zygote_;
  std::vector<std::string> env_;  // sorted
  int starts_ = 0;
  ThreadAffinity thread_;
};

}  // namespace lambent::sandbox
