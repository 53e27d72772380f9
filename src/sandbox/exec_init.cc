#include "sandbox/exec_init.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/protocol.h"

namespace lambent::sandbox {

void ExecInitInChild(int init_fd, int control_fd, char* const argv[]) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  char* envp[] = {nullptr};
  int devnull = ::open("/dev/null", O_RDWR);
  // lambent-init is executed as descriptor 4, which closes with the execve.
  int init = ::fcntl(init_fd, F_DUPFD_CLOEXEC, 64);
  int control = ::fcntl(control_fd, F_DUPFD, 64);
  if (devnull < 0 || init < 0 || control < 0 || ::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 ||
      ::dup2(control, init::kControlFd) < 0 || ::dup3(init, 4, O_CLOEXEC) < 0) {
    _exit(126);
  }
  ::close_range(5, ~0U, 0);
  ::syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
  _exit(127);
}

}  // namespace lambent::sandbox
