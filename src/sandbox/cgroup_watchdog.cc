#include "sandbox/cgroup_watchdog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sandbox/exec_init.h"

namespace lambent::sandbox {

Result<CgroupWatchdog> StartCgroupWatchdog(int init_fd, const std::vector<std::filesystem::path>& dirs) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return tl::unexpected(Error::System("pipe2", "cgroup watchdog", errno));
  Fd read_end(ends[0]), write_end(ends[1]);
  // Everything the child needs is made before the fork: after it, only system calls.
  std::vector<std::string> args{"lambent-init", "--cgroup-watchdog"};
  for (const auto& dir : dirs) args.push_back(dir.string());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(Error::System("fork", "cgroup watchdog", errno));
  if (pid == 0) {
    // No parent-death signal: outliving the daemon is the point. The lifeline's write end
    // is not passed on: the watchdog must not keep its own lifeline open.
    ExecInitInChild(init_fd, read_end.get(), argv.data());
  }
  return CgroupWatchdog{pid, std::move(write_end)};
}

}  // namespace lambent::sandbox
