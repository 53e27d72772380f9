#include "sandbox/zygote.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "init/protocol.h"

namespace lambent::sandbox {

Result<Zygote> StartZygote(const std::string& python, int runtimes_dir_fd, const std::string& library,
                           const std::vector<std::string>& env) {
  Fd library_fd(::open(library.c_str(), O_RDONLY | O_CLOEXEC));
  if (!library_fd) return tl::unexpected(Error::System("open", library, errno));
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return tl::unexpected(Error::System("socketpair", "zygote", errno));
  }
  Fd socket(sockets[0]), zygote_end(sockets[1]);
  // A stuck zygote must not hold up cold starts: past this they go through the spawner.
  struct timeval timeout {5, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  Fd dev_null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!dev_null) return tl::unexpected(Error::System("open", "/dev/null", errno));
  // Built before the fork: afterwards the child only makes system calls. Each forked
  // runtime writes its own command and environment over the zygote's (init/zygote.cc):
  // the last argument and variable make the room (a function's variables are 4 KB at most).
  std::string arg0 = python, arg1 = "python/zygote.py", room(256, '.');
  char* argv[] = {arg0.data(), arg1.data(), room.data(), nullptr};
  std::vector<std::string> variables = env;
  variables.push_back("LAMBENT_ZYGOTE_ROOM=" + std::string(16384, '.'));
  // No user site-packages of the host's root in sys.path, which every runtime would inherit.
  variables.push_back("HOME=/nonexistent");
  std::vector<char*> envp;
  for (auto& e : variables) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(Error::System("fork", "zygote", errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    // Started from the launcher thread, which runs SCHED_BATCH; the zygote is not batch work.
    struct sched_param normal {};
    ::sched_setscheduler(0, SCHED_OTHER, &normal);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // Its errors go to the daemon's stderr; the socket is 3, the library 4.
    int socket_copy = ::fcntl(zygote_end.get(), F_DUPFD, 64);
    int library_copy = ::fcntl(library_fd.get(), F_DUPFD, 64);
    if (socket_copy < 0 || library_copy < 0 || ::fchdir(runtimes_dir_fd) != 0 || ::dup2(dev_null.get(), 0) < 0 ||
        ::dup2(dev_null.get(), 1) < 0 || ::dup2(socket_copy, init::kControlFd) < 0 || ::dup2(library_copy, 4) < 0) {
      _exit(126);
    }
    ::close_range(5, ~0U, 0);
    ::execve(argv[0], argv, envp.data());
    _exit(127);
  }
  return Zygote{Child(pid), std::move(socket)};
}

int ZygoteKeeper::Socket(const std::vector<std::string>& env) {
  LAMBENT_DCHECK_THREAD(thread_);
  std::vector<std::string> sorted = env;
  std::sort(sorted.begin(), sorted.end());
  if (zygote_) return sorted == env_ ? zygote_->socket.get() : -1;
  if (starts_ >= kMaxStarts) return -1;
  ++starts_;
  env_ = std::move(sorted);
  auto started = StartZygote(python_, runtimes_dir_fd_, library_, env);
  if (!started) {
    spdlog::warn("no python zygote ({}): python runtimes start as any other", started.error().message());
    return -1;
  }
  zygote_ = std::move(*started);
  spdlog::info("python zygote started (pid {})", zygote_->process.pid());
  return zygote_->socket.get();
}

void ZygoteKeeper::Failed() {
  LAMBENT_DCHECK_THREAD(thread_);
  zygote_.reset();
}

}  // namespace lambent::sandbox
