#include "sandbox/cgroup_watchdog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "init/protocol.h"

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
  char* envp[] = {nullptr};
  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(Error::System("fork", "cgroup watchdog", errno));
  if (pid == 0) {
    // No parent-death signal: outliving the daemon is the point.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    int init = ::fcntl(init_fd, F_DUPFD_CLOEXEC, 64);
    int lifeline = ::fcntl(read_end.get(), F_DUPFD, 64);
    // stderr stays: it is the daemon's log.
    if (devnull < 0 || init < 0 || lifeline < 0 || ::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 ||
        ::dup2(lifeline, init::kControlFd) < 0 || ::dup3(init, 4, O_CLOEXEC) < 0) {
      _exit(126);
    }
    // Closes the write end too: the watchdog must not keep its own lifeline open.
    ::close_range(5, ~0U, 0);
    ::syscall(SYS_execveat, 4, "", argv.data(), envp, AT_EMPTY_PATH);
    _exit(127);
  }
  return CgroupWatchdog{pid, std::move(write_end)};
}

}  // namespace lambent::sandbox
