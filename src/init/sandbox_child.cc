#include "init/sandbox_child.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "init/protocol.h"
#include "init/sandbox_setup.h"

namespace lambent::init {

pid_t CloneSandboxed(unsigned long flags, int cgroup_fd, bool* joined_cgroup) {
  *joined_cgroup = false;
  if (cgroup_fd >= 0) {
    struct clone_args args {};
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = uint64_t(cgroup_fd);
    pid_t pid = pid_t(::syscall(SYS_clone3, &args, sizeof(args)));
    if (pid >= 0) {
      *joined_cgroup = true;
      return pid;
    }
    // Before Linux 5.7 (or without cgroup2 there): an ordinary clone, joined by the caller.
    if (errno != ENOSYS && errno != EINVAL && errno != E2BIG) return -1;
  }
  // The raw syscall skips glibc's fork handlers, which is fine: the child only makes
  // async-signal-safe calls before execve.
  return pid_t(::syscall(SYS_clone, SIGCHLD | flags, nullptr, nullptr, nullptr, nullptr));
}

void EnterSandboxChild(const ChildPlan& plan) {
  // Moving our one thread needs no global lock, unlike a move of the process by the daemon.
  for (int i = 0; i < plan.self_task_count; ++i) {
    if (::write(plan.self_tasks[i], "0", 1) != 1) {
      constexpr char kMessage[] = "lambent: cannot join the environment's cgroup\n";
      (void)!::write(plan.fds[kChildOutput], kMessage, sizeof(kMessage) - 1);
      _exit(124);
    }
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The environment schedules as any process: not as the thread that cloned it (the
  // launcher thread, or the zygote it started, run SCHED_BATCH, which would cost a woken
  // runtime its preemption and every invocation latency).
  struct sched_param normal {};
  ::sched_setscheduler(0, SCHED_OTHER, &normal);
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // Fixed descriptor numbers init knows; 8 and 9 are only needed until execve. Sources are
  // first moved above the targets so no dup2 overwrites a source still to be copied.
  int sources[10] = {plan.fds[kChildStdin], plan.fds[kChildOutput],   plan.fds[kChildOutput],
                     plan.fds[kChildControl], -1,                      plan.fds[kChildCode],
                     plan.fds[kChildRuntimes], plan.fds[kChildSeccomp], plan.fds[kChildInit],
                     plan.fds[kChildSync]};
  static_assert(kCodeDirFd == 5 && kRuntimesDirFd == 6 && kSeccompFd == 7 && kControlFd == 3);
  for (int& fd : sources) {
    if (fd >= 0 && (fd = ::fcntl(fd, F_DUPFD, 64)) < 0) _exit(126);
  }
  for (int target = 0; target < 10; ++target) {
    if (sources[target] >= 0 && ::dup2(sources[target], target) < 0) _exit(126);
  }
  for (int fd = 0; fd <= kSeccompFd; ++fd) ::fcntl(fd, F_SETFD, 0);
  ::fcntl(8, F_SETFD, FD_CLOEXEC);
  ::close(4);
  ::close_range(10, ~0U, 0);
  // Wait until the daemon has mapped our ids (until then we are nobody, and execve would
  // drop the capabilities init needs); EOF means it gave up on us.
  char go = 0;
  if (::read(9, &go, 1) != 1) _exit(1);
  ::close(9);
  // The maps do not change our credentials: we are still the daemon's uid, unmapped here.
  // Becoming root of the namespace makes us its mapped host id. Raw syscalls: glibc's
  // wrappers would try to signal the daemon's other threads, which this copy lacks.
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0 || ::syscall(SYS_setresuid, 0, 0, 0) != 0) _exit(125);
}

void RunSandboxChild(const ChildPlan& plan) {
  EnterSandboxChild(plan);
  ::syscall(SYS_execveat, 8, "", plan.argv, plan.envp, AT_EMPTY_PATH);
  _exit(127);
}

}  // namespace lambent::init
