#pragma once

#include <cstddef>
#include <cstdint>

namespace lambent::cli {

// Raises the soft RLIMIT_NOFILE to the hard limit (the kernel's nr_open when the hard
// limit is unlimited) and returns the soft limit in force afterwards. Environments are not
// affected: lambent-init sets their own limit (1024, as Lambda has).
uint64_t RaiseFdLimit();

// How the daemon's descriptors are shared out.
struct FdPlan {
  size_t max_connections;  // HTTP connections open at once
  uint64_t environment_fds;  // what environments may hold together (see scheduler::kFdsPerEnvironment)
};

// Descriptors kept for the daemon itself: the database, the listening socket, the event
// loop, the spawner, log files while they are flushed, spool files, prestarted environments.
inline constexpr uint64_t kReservedFds = 128;

// Splits `limit` descriptors: the reserve, then the connections (`requested`, or 0 for a
// quarter of the limit up to 4096), then the rest for environments. Pure.
FdPlan PlanFds(uint64_t limit, size_t requested_connections);

}  // namespace lambent::cli
