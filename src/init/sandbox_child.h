#pragma once

#include <sys/types.h>

// The first moments of a sandboxed environment: the clone into fresh namespaces and what the
// new process does until it becomes lambent-init. Shared by the daemon and its spawner
// (spawner.h), which clones from a small address space instead of the daemon's.
namespace lambent::init {

// Where each of the new process's first descriptors comes from.
enum ChildFd : int {
  kChildStdin = 0,    // /dev/null
  kChildOutput = 1,   // the output pipe, also becomes 2
  kChildControl = 2,  // init's end of the control socket, becomes 3 (kControlFd)
  kChildCode = 3,     // becomes kCodeDirFd
  kChildRuntimes = 4, // becomes kRuntimesDirFd
  kChildSeccomp = 5,  // becomes kSeccompFd
  kChildInit = 6,     // O_PATH of lambent-init, executed as fd 8
  kChildSync = 7,     // read end of the pipe the daemon releases the child with, fd 9
  kChildFdCount = 8,
};

// Everything the new process needs, prepared before the clone: afterwards it only makes
// system calls (the daemon that cloned it has other threads).
struct ChildPlan {
  int fds[kChildFdCount];
  const int* self_tasks = nullptr;  // cgroup v1 `tasks` files to write "0" to
  int self_task_count = 0;
  char* const* argv = nullptr;  // lambent-init's
  char* const* envp = nullptr;
};

// clone() into `flags` (namespaces, maybe CLONE_PARENT), born in the cgroup `cgroup_fd`
// (clone3 CLONE_INTO_CGROUP, cgroup v2) when it is >= 0 and the kernel can. Returns as
// fork() does; `*joined_cgroup` says whether the cgroup was joined.
pid_t CloneSandboxed(unsigned long flags, int cgroup_fd, bool* joined_cgroup);

// The new process's first steps, up to just before execve: joins the cgroup (v1), places its
// descriptors (0-3, 5-7 as init knows them; 8 is lambent-init), waits until the daemon has
// mapped its ids and released it, and becomes root of its user namespace. Exits the process
// when a step fails.
void EnterSandboxChild(const ChildPlan& plan);

// The new process's side: joins the cgroup (v1), places its descriptors, waits until the
// daemon has mapped its ids and releases it, becomes root of its user namespace and
// executes lambent-init. Never returns.
[[noreturn]] void RunSandboxChild(const ChildPlan& plan);

}  // namespace lambent::init
