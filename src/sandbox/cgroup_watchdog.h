#pragma once

#include <sys/types.h>

#include <filesystem>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace lambent::sandbox {

// The daemon's side of the cgroup watchdog (init/cgroup_watchdog.h). While `lifeline` is
// open the watchdog waits; when the daemon exits, however it ends, the kernel closes it and
// the watchdog removes the daemon's cgroup directories. The watchdog is not killed with the
// daemon, so nothing here kills or reaps it.
struct CgroupWatchdog {
  pid_t pid = -1;
  Fd lifeline;  // the pipe's write end, close-on-exec
};

// Starts `lambent-init --cgroup-watchdog` from lambent-init's O_PATH descriptor, for the
// cgroup directories `dirs` (CgroupManager::Parents()).
Result<CgroupWatchdog> StartCgroupWatchdog(int init_fd, const std::vector<std::filesystem::path>& dirs);

}  // namespace lambent::sandbox
