#include "cli/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

#include <spdlog/spdlog.h>

namespace lambent::cli {

uint64_t RaiseFdLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) {
    // setrlimit refuses more than fs.nr_open.
    uint64_t nr_open = 1 << 20;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    target = nr_open;
  }
  if (limit.rlim_cur < target) {
    rlimit raised{target, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit.rlim_cur = target;
    } else {
      spdlog::warn("cannot raise the open-file limit from {} to {}", limit.rlim_cur, target);
    }
  }
  return limit.rlim_cur;
}

FdPlan PlanFds(uint64_t limit, size_t requested_connections) {
  uint64_t usable = limit > kReservedFds ? limit - kReservedFds : 0;
  size_t connections = requested_connections
                           ? requested_connections
                           : size_t(std::clamp<uint64_t>(limit / 4, 16, 4096));
  uint64_t environments = usable > connections ? usable - connections : 0;
  return FdPlan{connections, environments};
}

}  // namespace lambent::cli
