#pragma once

#include <string>
#include <vector>

#include "init/sandbox_setup.h"

namespace lambent::init {

// With --adopt, the pipe on which init tells the runtime it adopted that the sandbox is ready.
constexpr int kAdoptFd = 10;

// What lambent-init is told on its command line.
struct InitOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;            // 0: any free port (until each environment has its own netns)
  std::string working_dir;        // the runtime's cwd
  std::vector<std::string> argv;  // the runtime's command
  bool sandbox = false;           // finish the sandbox from the inside first
  // Start the runtime before the environment has a function (lambent's own runtimes wait
  // for it on the Runtime API): the daemon sends kAssign with the code later. init keeps
  // its capabilities until then; the runtime is locked down from its start.
  bool prestarted = false;
  // The runtime is already init's child, forked by the python zygote (init/zygote.cc) before
  // init's execve and waiting on kAdoptFd: init tells it "API\0CWD\0" once the sandbox and
  // the Runtime API are ready, instead of starting one. 0: none.
  pid_t adopt_pid = 0;
  SandboxOptions sandbox_options;
  int64_t started_ns = 0;  // CLOCK_MONOTONIC when main() was entered
};

// Parses `lambent-init [--adopt PID] [--listen HOST:PORT] [--cwd DIR] [--sandbox [--prestarted]]
// [--tmp-size-mb N] [--tmp-mount] [--network none|host] -- CMD ARGS...`. --tmp-mount: /tmp
// comes from the daemon as a kTmpMount message. Returns false and
// fills `error` on bad usage.
bool ParseInitArgs(int argc, char** argv, InitOptions& options, std::string& error);

// Runs as the environment's PID 1 (or its subreaper): starts the runtime, hands each Runtime
// API connection to the daemon, reaps, and reports the runtime's exit. Returns the exit code.
int RunInit(const InitOptions& options);

}  // namespace lambent::init
