#include "init/init_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "init/protocol.h"

namespace lambent::init {
namespace {

void Log(const char* fmt_text, const char* detail) {
  // Goes to the function's log: the daemon owns our stderr.
  std::fprintf(stderr, "lambent-init: %s%s\n", fmt_text, detail);
}

Fd Listen(const std::string& host, int port, int& bound_port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 64) != 0) {
    return Fd();
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  bound_port = ntohs(addr.sin_port);
  return fd;
}

// Kills every other process of the environment. As PID 1 of a pid namespace kill(-1) reaches
// exactly the namespace; without one, the environment is our process group.
void KillEnvironment() {
  if (::getpid() == 1) {
    ::kill(-1, SIGKILL);
  } else {
    ::kill(0, SIGKILL);  // includes ourselves: nothing may outlive the environment
  }
}

// Starts the runtime; returns its pid, or -errno if execve failed.
pid_t StartRuntime(const InitOptions& options, const sigset_t& original_mask) {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
  pid_t pid = ::fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    ::close(status_pipe[0]);
    // Without a pid namespace nothing else ends the runtime if init is SIGKILLed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::close(kControlFd);
    if (options.prestarted) {
      // init locks itself down only once it has mounted the code; the runtime never holds
      // what init keeps until then.
      if (std::string failed = LockDown(); !failed.empty()) {
        Log("runtime lockdown failed: ", failed.c_str());
        int e = EPERM;
        (void)!::write(status_pipe[1], &e, sizeof(e));
        _exit(127);
      }
    }
    if (!options.working_dir.empty() && ::chdir(options.working_dir.c_str()) != 0) {
      int e = errno;
      (void)!::write(status_pipe[1], &e, sizeof(e));
      _exit(127);
    }
    std::vector<char*> argv;
    for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    int e = errno;
    (void)!::write(status_pipe[1], &e, sizeof(e));
    _exit(127);
  }
  ::close(status_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n == sizeof(exec_errno)) {
    ::waitpid(pid, nullptr, 0);
    return -exec_errno;
  }
  return pid;
}

// Lets the runtime the zygote forked run: it locks itself down and changes directory as
// StartRuntime's child would. It may have died already (killed before our signalfd existed):
// then it is reaped here, as no SIGCHLD will come for it.
pid_t ReleaseAdopted(const InitOptions& options, const std::string& api) {
  std::string message = api;
  message.push_back('\0');
  message += options.working_dir.empty() ? "/" : options.working_dir;
  message.push_back('\0');
  ssize_t n;
  do {
    n = ::write(kAdoptFd, message.data(), message.size());
  } while (n < 0 && errno == EINTR);
  ::close(kAdoptFd);
  if (n != ssize_t(message.size()) || ::waitpid(options.adopt_pid, nullptr, WNOHANG) != 0) return -ECHILD;
  return options.adopt_pid;
}

// Receives kAssign, mounts the code, locks init down and says so. False when the
// environment cannot go on (the daemon is gone, or init could not be locked down).
bool Assign() {
  auto received = Receive(kControlFd);
  if (!received || !*received || (*received)->message.type != MessageType::kAssign || !(*received)->fd) {
    return false;
  }
  std::string failed = AttachCode((*received)->fd.get(), (*received)->message.value,
                                  (*received)->second_fd ? (*received)->second_fd.get() : -1);
  (*received)->fd.reset();
  (*received)->second_fd.reset();
  if (failed.empty()) failed = LockDown();
  if (failed.empty() && ::prctl(PR_SET_DUMPABLE, 0) != 0) failed = "prctl(PR_SET_DUMPABLE): failed";
  int error = failed.empty() ? 0 : (errno ? errno : EPERM);
  if (!failed.empty()) Log("assignment failed: ", failed.c_str());
  return Send(kControlFd, {MessageType::kAssigned, error, 0}).has_value() && error == 0;
}

// With --tmp-mount the daemon sent /tmp before it released us: it waits in the socket.
std::string ReceiveTmpMount(SandboxOptions& options) {
  if (!options.tmp_from_daemon) return "";
  auto received = Receive(kControlFd);
  if (!received || !*received || (*received)->message.type != MessageType::kTmpMount || !(*received)->fd) {
    errno = EPROTO;
    return "receive(/tmp mount): none came";
  }
  options.tmp_mount_fd = (*received)->fd.release();
  return "";
}

}  // namespace

bool ParseInitArgs(int argc, char** argv, InitOptions& options, std::string& error) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--sandbox") {
      options.sandbox = true;
      continue;
    }
    if (arg == "--tmp-mount") {
      options.sandbox_options.tmp_from_daemon = true;
      continue;
    }
    if (arg == "--prestarted") {
      options.prestarted = true;
      options.sandbox_options.defer_code = true;
      continue;
    }
    if (i + 1 >= argc) {
      error = "missing value for " + arg;
      return false;
    }
    std::string value = argv[++i];
    if (arg == "--adopt") {
      options.adopt_pid = std::atoi(value.c_str());
      if (options.adopt_pid <= 0) {
        error = "--adopt wants the runtime's pid";
        return false;
      }
    } else if (arg == "--listen") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos) {
        error = "--listen wants HOST:PORT";
        return false;
      }
      options.listen_host = value.substr(0, colon);
      options.listen_port = std::atoi(value.c_str() + colon + 1);
    } else if (arg == "--cwd") {
      options.working_dir = value;
    } else if (arg == "--tmp-size-mb") {
      options.sandbox_options.tmp_size_mb = std::atoi(value.c_str());
    } else if (arg == "--network") {
      if (value != "none" && value != "host") {
        error = "--network is none or host";
        return false;
      }
      options.sandbox_options.own_network = value == "none";
    } else {
      error = "unknown option " + arg;
      return false;
    }
  }
  for (; i < argc; ++i) options.argv.emplace_back(argv[i]);
  if (options.adopt_pid > 0 && !options.sandbox) {
    error = "--adopt needs --sandbox";
    return false;
  }
  if (options.prestarted && !options.sandbox) {
    error = "--prestarted needs --sandbox";
    return false;
  }
  if (options.argv.empty()) {
    error = "usage: lambent-init [--listen HOST:PORT] [--cwd DIR] -- CMD [ARGS...]";
    return false;
  }
  return true;
}

int RunInit(const InitOptions& options) {
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t mask, original_mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &mask, &original_mask);
  Fd signals(::signalfd(-1, &mask, SFD_CLOEXEC));
  ::signal(SIGPIPE, SIG_IGN);

  InitTimeline timeline{.started_ns = options.started_ns};
  if (options.sandbox) {
    // Order matters: mounts and hostname need the capabilities LockDown removes, and the
    // seccomp filter denies mount and pivot_root.
    SandboxOptions sandbox_options = options.sandbox_options;
    std::string failed = ReceiveTmpMount(sandbox_options);
    if (failed.empty()) failed = SetUpSandbox(sandbox_options);
    if (failed.empty() && !options.prestarted) failed = LockDown();
    // init holds the control socket: the runtime, with the same uid, must not be able to
    // reach into it (pidfd_getfd, /proc/1/mem). The runtime's own execve makes it dumpable
    // again, which is harmless.
    if (failed.empty() && ::prctl(PR_SET_DUMPABLE, 0) != 0) failed = "prctl(PR_SET_DUMPABLE): failed";
    if (!failed.empty()) {
      Log("sandbox setup failed: ", failed.c_str());
      if (FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof(line), status)) {
          if (!std::strncmp(line, "Cap", 3) || !std::strncmp(line, "Uid", 3)) std::fputs(line, stderr);
        }
        std::fclose(status);
      }
      return 125;
    }
  }
  timeline.sandboxed_ns = MonotonicNs();

  int port = 0;
  Fd listener = Listen(options.listen_host, options.listen_port, port);
  if (!listener) {
    Log("cannot listen for the Runtime API: ", std::strerror(errno));
    return 1;
  }
  std::string api = options.listen_host + ":" + std::to_string(port);
  ::setenv("AWS_LAMBDA_RUNTIME_API", api.c_str(), 1);

  pid_t runtime = options.adopt_pid > 0 ? ReleaseAdopted(options, api) : StartRuntime(options, original_mask);
  if (runtime < 0) {
    (void)Send(kControlFd, {MessageType::kSpawnFailed, -runtime, 0});
    return 127;
  }
  timeline.runtime_started_ns = MonotonicNs();
  if (!Send(kControlFd, {MessageType::kReady, port, runtime, 0, timeline})) {
    KillEnvironment();
    return 1;
  }

  bool awaiting_assignment = options.prestarted;
  struct pollfd fds[3] = {{kControlFd, POLLIN, 0}, {listener.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      // The daemon writes only to assign a prestarted environment; anything else, or
      // readability without a message, means it is gone.
      if (!awaiting_assignment || !Assign()) break;
      awaiting_assignment = false;
      continue;
    }
    if (fds[1].revents & POLLIN) {
      Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn && !Send(kControlFd, {MessageType::kConnection, 0, 0}, conn.get())) break;
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo info;
      if (::read(signals.get(), &info, sizeof(info)) != sizeof(info)) continue;
      if (info.ssi_signo != SIGCHLD) {
        ::kill(runtime, int(info.ssi_signo));
        continue;
      }
      int status;
      pid_t pid;
      bool runtime_exited = false;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == runtime) {
          runtime_exited = true;
          (void)Send(kControlFd, {MessageType::kExited, status, runtime});
        }
      }
      if (runtime_exited) break;
    }
  }
  KillEnvironment();
  return 0;
}

}  // namespace lambent::init
