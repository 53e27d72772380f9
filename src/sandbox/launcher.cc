#include "sandbox/launcher.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "init/protocol.h"

namespace lambent::sandbox {
namespace {

// fork(), or a fork into a new pid namespace. The raw syscall skips glibc's fork handlers,
// which is fine: the child only makes async-signal-safe calls before execve.
pid_t ForkInto(bool pid_namespace) {
  if (!pid_namespace) return ::fork();
  return pid_t(::syscall(SYS_clone, SIGCHLD | CLONE_NEWPID, nullptr, nullptr, nullptr, nullptr));
}

}  // namespace

Capabilities ProbeCapabilities() {
  Capabilities caps;
  pid_t pid = ForkInto(true);
  if (pid == 0) _exit(0);
  if (pid > 0) {
    ::waitpid(pid, nullptr, 0);
    caps.pid_namespace = true;
  }
  return caps;
}

Result<LaunchedEnvironment> Launch(const LaunchSpec& spec) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return tl::unexpected(Error::System("socketpair", "control", errno));
  }
  Fd control(sockets[0]), init_end(sockets[1]);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return tl::unexpected(Error::System("pipe2", "output", errno));
  Fd output(pipe_fds[0]), output_write(pipe_fds[1]);
  ::fcntl(output.get(), F_SETFL, O_NONBLOCK);
  Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  // Everything the child needs is built before the fork: after it only syscalls.
  std::vector<char*> argv{const_cast<char*>(spec.init_path.c_str())};
  for (const auto& a : spec.init_args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ForkInto(spec.pid_namespace);
  if (pid < 0) return tl::unexpected(Error::System("clone", spec.init_path, errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The daemon may have died between fork and prctl; then nobody would kill us.
    // (Inside a new pid namespace getppid() is 0, so the check only works without one.)
    if (!spec.pid_namespace && ::getppid() != parent) _exit(1);
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // dup2 clears close-on-exec on the targets, which is exactly what init inherits.
    if (::dup2(dev_null.get(), 0) < 0 || ::dup2(output_write.get(), 1) < 0 ||
        ::dup2(output_write.get(), 2) < 0 || ::dup2(init_end.get(), init::kControlFd) < 0) {
      _exit(126);
    }
    // dup2 onto itself keeps close-on-exec; clear it on every inherited descriptor.
    for (int fd = 0; fd <= init::kControlFd; ++fd) ::fcntl(fd, F_SETFD, 0);
    // Not every library opens its descriptors close-on-exec (Asio's sockets don't).
    ::close_range(init::kControlFd + 1, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return LaunchedEnvironment{Child(pid), std::move(control), std::move(output)};
}

}  // namespace lambent::sandbox
