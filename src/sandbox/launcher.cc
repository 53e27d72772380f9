#include "sandbox/launcher.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "init/protocol.h"
#include "init/sandbox_setup.h"
#include "sandbox/cgroup.h"

namespace lambent::sandbox {
namespace {

// A cgroup namespace made here is rooted at the daemon's own cgroup: the environment sees
// "/lambent/env-..." and nothing of the host's tree. (init cannot make one itself: that
// takes CAP_SYS_ADMIN over the namespace it is in.)
constexpr unsigned long kSandboxFlags =
    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

// fork() into new namespaces. The raw syscall skips glibc's fork handlers, which is fine:
// the child only makes async-signal-safe calls before execve.
pid_t ForkInto(unsigned long flags) {
  if (flags == 0) return ::fork();
  return pid_t(::syscall(SYS_clone, SIGCHLD | flags, nullptr, nullptr, nullptr, nullptr));
}

// As ForkInto, born inside the cgroup `cgroup_fd` (Linux 5.7+, cgroup v2). -1 with errno
// ENOSYS or EINVAL when the kernel cannot: the caller then forks and attaches.
pid_t ForkIntoCgroup(unsigned long flags, int cgroup_fd) {
  struct clone_args args {};
  args.flags = flags | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = uint64_t(cgroup_fd);
  return pid_t(::syscall(SYS_clone3, &args, sizeof(args)));
}

Result<void> WriteProc(pid_t pid, const char* file, const std::string& text) {
  std::string path = fmt::format("/proc/{}/{}", pid, file);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("open", path, errno));
  if (::write(fd.get(), text.data(), text.size()) != ssize_t(text.size())) {
    return tl::unexpected(Error::System("write", path, errno));
  }
  return Ok();
}

// The parent's half of the sandbox: done between clone and the child's execve, while
// the child waits on the sync pipe.
Result<void> PrepareChild(pid_t pid, const SandboxLaunch& sandbox, bool joined_cgroup) {
  // setgroups must be denied before an unprivileged gid_map; root inside needs no groups.
  if (auto ok = WriteProc(pid, "setgroups", "deny"); !ok) return ok;
  if (auto ok = WriteProc(pid, "gid_map", fmt::format("0 {} 1\n", sandbox.host_gid)); !ok) return ok;
  if (auto ok = WriteProc(pid, "uid_map", fmt::format("0 {} 1\n", sandbox.host_uid)); !ok) return ok;
  // Before the runtime exists: everything it starts is counted from the beginning.
  if (sandbox.cgroup && !joined_cgroup) {
    if (auto ok = sandbox.cgroup->Attach(pid); !ok) return ok;
  }
  return Ok();
}

}  // namespace

Result<Fd> OpenReadOnlyTree(int dirfd, const std::string& path) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | (path.empty() ? AT_EMPTY_PATH : 0);
  Fd tree(int(::syscall(SYS_open_tree, dirfd, path.c_str(), flags)));
  if (!tree) return tl::unexpected(Error::System("open_tree", path.empty() ? "fd" : path, errno));
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    return tl::unexpected(Error::System("mount_setattr", path.empty() ? "fd" : path, errno));
  }
  return tree;
}

uid_t HostIds::Acquire() {
  if (!root_) return ::getuid();
  if (!free_.empty()) {
    uid_t id = free_.back();
    free_.pop_back();
    return id;
  }
  return kBase + next_++;
}

void HostIds::Release(uid_t id) {
  if (root_) free_.push_back(id);
}

Capabilities ProbeCapabilities() {
  Capabilities caps;
  caps.root = ::geteuid() == 0;
  for (auto [flags, field] : {std::pair<unsigned long, bool*>{CLONE_NEWPID, &caps.pid_namespace},
                              std::pair<unsigned long, bool*>{kSandboxFlags | CLONE_NEWNET, &caps.user_namespace}}) {
    pid_t pid = ForkInto(flags);
    if (pid == 0) _exit(0);
    if (pid > 0) {
      ::waitpid(pid, nullptr, 0);
      *field = true;
    }
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
  const SandboxLaunch* sandbox = spec.sandbox ? &*spec.sandbox : nullptr;
  int sync_pipe[2] = {-1, -1};
  if (sandbox && ::pipe2(sync_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::System("pipe2", "sync", errno));
  Fd sync_read(sync_pipe[0]), sync_write(sync_pipe[1]);
  unsigned long flags = 0;
  if (sandbox) {
    flags = kSandboxFlags | (sandbox->own_network ? CLONE_NEWNET : 0);
  } else if (spec.pid_namespace) {
    flags = CLONE_NEWPID;
  }

  // The child enters its cgroup as it is born (v2) or moves itself in (v1); only when the
  // kernel can do neither does the parent move it, which is far slower.
  CgroupJoin join;
  if (sandbox && sandbox->cgroup) {
    auto prepared = sandbox->cgroup->PrepareJoin();
    if (!prepared) return tl::unexpected(prepared.error());
    join = std::move(*prepared);
  }
  std::vector<int> self_tasks;
  for (const auto& fd : join.self_tasks) self_tasks.push_back(fd.get());
  pid_t pid = -1;
  bool joined_cgroup = !self_tasks.empty();
  if (join.clone_into) {
    pid = ForkIntoCgroup(flags, join.clone_into.get());
    joined_cgroup = pid >= 0;
    if (pid < 0 && errno != ENOSYS && errno != EINVAL && errno != E2BIG) {
      return tl::unexpected(Error::System("clone3", spec.init_path, errno));
    }
  }
  if (pid < 0) pid = ForkInto(flags);
  if (pid < 0) return tl::unexpected(Error::System("clone", spec.init_path, errno));
  if (pid == 0 && sandbox) {
    for (int fd : self_tasks) {
      if (::write(fd, "0", 1) != 1) {
        constexpr char kMessage[] = "lambent: cannot join the environment's cgroup\n";
        (void)!::write(output_write.get(), kMessage, sizeof(kMessage) - 1);
        _exit(124);
      }
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    // Fixed descriptor numbers init knows; 8 and 9 are only needed until execve. Sources
    // are first moved above the targets so no dup2 overwrites a source still to be copied.
    int sources[10] = {dev_null.get(),         output_write.get(),         output_write.get(),
                       init_end.get(),         -1,                         sandbox->code_dir_fd,
                       sandbox->runtimes_dir_fd, sandbox->seccomp_fd,        sandbox->init_fd,
                       sync_read.get()};
    for (int& fd : sources) {
      if (fd >= 0 && (fd = ::fcntl(fd, F_DUPFD, 64)) < 0) _exit(126);
    }
    for (int target = 0; target < 10; ++target) {
      if (sources[target] >= 0 && ::dup2(sources[target], target) < 0) _exit(126);
    }
    for (int fd = 0; fd <= init::kSeccompFd; ++fd) ::fcntl(fd, F_SETFD, 0);
    ::fcntl(8, F_SETFD, FD_CLOEXEC);
    ::close(4);
    ::close_range(10, ~0U, 0);
    // Wait until the parent has mapped our ids (until then we are nobody, and execve
    // would drop the capabilities init needs) and put us in the cgroup.
    char go = 0;
    if (::read(9, &go, 1) != 1) _exit(1);
    ::close(9);
    // The maps do not change our credentials: we are still the daemon's uid, unmapped here.
    // Becoming root of the namespace makes us its mapped host id. Raw syscalls: glibc's
    // wrappers would try to signal the daemon's other threads, which this copy lacks.
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0 || ::syscall(SYS_setresuid, 0, 0, 0) != 0) _exit(125);
    ::syscall(SYS_execveat, 8, "", argv.data(), envp.data(), AT_EMPTY_PATH);
    _exit(127);
  }
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
  Child child(pid);
  if (sandbox) {
    sync_read.reset();
    if (auto ok = PrepareChild(pid, *sandbox, joined_cgroup); !ok) return tl::unexpected(ok.error());
    if (::write(sync_write.get(), "1", 1) != 1) return tl::unexpected(Error::System("write", "sync pipe", errno));
  }
  return LaunchedEnvironment{std::move(child), std::move(control), std::move(output)};
}

}  // namespace lambent::sandbox
