// lambent-init: PID 1 of every execution environment (see src/init/init_process.h).
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "init/cgroup_watchdog.h"
#include "init/init_process.h"
#include "init/protocol.h"
#include "init/spawner.h"

int main(int argc, char** argv) {
  lambent::init::InitOptions options;
  options.started_ns = lambent::init::MonotonicNs();
  // The daemon's spawner (init/spawner.h): its socket is the control descriptor.
  if (argc == 2 && std::string_view(argv[1]) == "--spawner") {
    return lambent::init::RunSpawner(lambent::init::kControlFd);
  }
  // The daemon's cgroup watchdog (init/cgroup_watchdog.h): its lifeline is the control descriptor.
  if (argc >= 2 && std::string_view(argv[1]) == "--cgroup-watchdog") {
    return lambent::init::RunCgroupWatchdog(lambent::init::kControlFd, std::vector<std::string>(argv + 2, argv + argc));
  }
  std::string error;
  if (!lambent::init::ParseInitArgs(argc, argv, options, error)) {
    std::fprintf(stderr, "lambent-init: %s\n", error.c_str());
    return 2;
  }
  return lambent::init::RunInit(options);
}
