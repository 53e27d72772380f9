#include "sandbox/launcher.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <linux/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "init/protocol.h"
#include "init/sandbox_child.h"
#include "init/sandbox_setup.h"
#include "init/spawner.h"
#include "sandbox/cgroup.h"
#include "sandbox/exec_init.h"

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
  LAMBENT_DCHECK_THREAD(thread_);
  if (!root_) return ::getuid();
  if (!free_.empty()) {
    uid_t id = free_.back();
    free_.pop_back();
    return id;
  }
  return kBase + next_++;
}

void HostIds::Release(uid_t id) {
  LAMBENT_DCHECK_THREAD(thread_);
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

namespace {

// init's argv and envp as execve takes them, pointing into `spec`.
struct ExecArgs {
  explicit ExecArgs(const LaunchSpec& spec) {
    argv.push_back(const_cast<char*>(spec.init_path.c_str()));
    for (const auto& a : spec.init_args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  std::vector<char*> argv;
  std::vector<char*> envp;
};

struct Cloned {
  pid_t pid = -1;
  bool joined_cgroup = false;
  bool from_zygote = false;
};

// Clones a sandboxed environment, through the zygote or the spawner when there is one. The
// child waits on `sync_read` until the caller has mapped its ids and released it.
Result<Cloned> CloneEnvironment(const LaunchSpec& spec, const SandboxLaunch& sandbox,
                                const int (&fds)[init::kChildFdCount], const CgroupJoin& join) {
  unsigned long flags = kSandboxFlags | (sandbox.own_network ? CLONE_NEWNET : 0);
  std::vector<int> self_tasks;
  for (const auto& fd : join.self_tasks) self_tasks.push_back(fd.get());
  if (sandbox.zygote_fd >= 0) {
    init::SpawnRequest request;
    request.flags = flags;
    std::copy(std::begin(fds), std::end(fds), request.fds);
    request.cgroup_fd = join.clone_into.get();
    request.self_tasks = self_tasks;
    request.argv = {spec.init_path, "--adopt"};
    request.argv.insert(request.argv.end(), spec.init_args.begin(), spec.init_args.end());
    request.envp = spec.env;
    auto spawned = init::RequestSpawn(sandbox.zygote_fd, request);
    if (spawned) return Cloned{spawned->pid, spawned->joined_cgroup || !self_tasks.empty(), true};
    static bool warned = false;
    if (!std::exchange(warned, true)) {
      spdlog::warn("the python zygote failed ({}); its runtimes start as any other", spawned.error().message());
    }
  }
  if (sandbox.spawner_fd >= 0) {
    init::SpawnRequest request;
    request.flags = flags;
    std::copy(std::begin(fds), std::end(fds), request.fds);
    request.cgroup_fd = join.clone_into.get();
    request.self_tasks = self_tasks;
    request.argv.push_back(spec.init_path);
    request.argv.insert(request.argv.end(), spec.init_args.begin(), spec.init_args.end());
    request.envp = spec.env;
    auto spawned = init::RequestSpawn(sandbox.spawner_fd, request);
    if (spawned) return Cloned{spawned->pid, spawned->joined_cgroup || !self_tasks.empty()};
    static bool warned = false;
    if (!std::exchange(warned, true)) {
      spdlog::warn("the spawner failed ({}); environments are cloned from the daemon", spawned.error().message());
    }
  }
  // Everything the child needs is built before the clone: after it only syscalls.
  ExecArgs exec(spec);
  init::ChildPlan plan;
  std::copy(std::begin(fds), std::end(fds), plan.fds);
  plan.self_tasks = self_tasks.data();
  plan.self_task_count = int(self_tasks.size());
  plan.argv = exec.argv.data();
  plan.envp = exec.envp.data();
  bool joined = false;
  pid_t pid = init::CloneSandboxed(flags, join.clone_into.get(), &joined);
  if (pid == 0) init::RunSandboxChild(plan);
  if (pid < 0) return tl::unexpected(Error::System("clone", spec.init_path, errno));
  return Cloned{pid, joined || !self_tasks.empty()};
}

}  // namespace

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
  if (!dev_null) return tl::unexpected(Error::System("open", "/dev/null", errno));

  if (spec.sandbox) {
    const SandboxLaunch& sandbox = *spec.sandbox;
    int sync_pipe[2];
    if (::pipe2(sync_pipe, O_CLOEXEC) != 0) return tl::unexpected(Error::System("pipe2", "sync", errno));
    Fd sync_read(sync_pipe[0]), sync_write(sync_pipe[1]);
    // The child enters its cgroup as it is born (v2) or moves itself in (v1); only when the
    // kernel can do neither does the daemon move it, which is far slower.
    CgroupJoin join;
    if (sandbox.cgroup) {
      auto prepared = sandbox.cgroup->PrepareJoin();
      if (!prepared) return tl::unexpected(prepared.error());
      join = std::move(*prepared);
    }
    int fds[init::kChildFdCount];
    fds[init::kChildStdin] = dev_null.get();
    fds[init::kChildOutput] = output_write.get();
    fds[init::kChildControl] = init_end.get();
    fds[init::kChildCode] = sandbox.code_dir_fd;
    fds[init::kChildRuntimes] = sandbox.runtimes_dir_fd;
    fds[init::kChildSeccomp] = sandbox.seccomp_fd;
    fds[init::kChildInit] = sandbox.init_fd;
    fds[init::kChildSync] = sync_read.get();
    auto cloned = CloneEnvironment(spec, sandbox, fds, join);
    if (!cloned) return tl::unexpected(cloned.error());
    Child child(cloned->pid);
    sync_read.reset();
    if (auto ok = PrepareChild(child.pid(), sandbox, cloned->joined_cgroup); !ok) return tl::unexpected(ok.error());
    // Queued in init's socket before it runs: init reads it first thing, without waiting.
    if (sandbox.tmp_mount_fd >= 0) {
      if (auto sent = init::Send(control.get(), {init::MessageType::kTmpMount, 0, 0}, sandbox.tmp_mount_fd); !sent) {
        return tl::unexpected(sent.error());
      }
    }
    if (::write(sync_write.get(), "1", 1) != 1) return tl::unexpected(Error::System("write", "sync pipe", errno));
    return LaunchedEnvironment{std::move(child), std::move(control), std::move(output), cloned->from_zygote};
  }

  ExecArgs exec(spec);
  pid_t parent = ::getpid();
  pid_t pid = ForkInto(spec.pid_namespace ? CLONE_NEWPID : 0);
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
    ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
    _exit(127);
  }
  return LaunchedEnvironment{Child(pid), std::move(control), std::move(output)};
}

Result<Spawner> StartSpawner(int init_fd) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return tl::unexpected(Error::System("socketpair", "spawner", errno));
  }
  Fd socket(sockets[0]), spawner_end(sockets[1]);
  // A stuck spawner must not hang the io thread: past this the daemon clones by itself.
  struct timeval timeout {5, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char arg0[] = "lambent-init", arg1[] = "--spawner";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(Error::System("fork", "spawner", errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    ExecInitInChild(init_fd, spawner_end.get(), argv);
  }
  return Spawner{Child(pid), std::move(socket)};
}

}  // namespace lambent::sandbox
