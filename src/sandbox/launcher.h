#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "base/thread_check.h"
#include "sandbox/child.h"

namespace lambent::sandbox {

// What the host lets lambent use; probed once at start-up.
struct Capabilities {
  bool pid_namespace = false;   // clone(CLONE_NEWPID) works: init is PID 1 of its own tree
  bool user_namespace = false;  // all seven namespaces work: full sandboxes
  bool root = false;            // distinct host ids per environment, cgroups
};
Capabilities ProbeCapabilities();

class CgroupDir;

// The sandbox of one environment, as the daemon's side sets it up (init does the rest).
// The descriptors are borrowed: they must stay open until Launch returns.
struct SandboxLaunch {
  uid_t host_uid = 0;  // what root inside the environment is on the host
  gid_t host_gid = 0;
  bool own_network = true;
  int code_dir_fd = -1;      // a detached read-only mount (OpenReadOnlyTree)
  int runtimes_dir_fd = -1;  // a detached read-only mount (OpenReadOnlyTree)
  int seccomp_fd = -1;       // compiled filter
  int init_fd = -1;          // O_PATH of lambent-init: executed without a path lookup
  CgroupDir* cgroup = nullptr;
  int spawner_fd = -1;       // the spawner's socket (StartSpawner); -1: clone from the daemon
  // The python zygote's socket (StartZygote): the runtime is forked from it rather than
  // started, and init adopts it (--adopt). -1, or when it fails: the spawner, as any other.
  int zygote_fd = -1;
  // A detached mount for /tmp (TmpPool), sent to init as kTmpMount before it is released;
  // init must be told --tmp-mount. -1: init mounts a tmpfs.
  int tmp_mount_fd = -1;
};

// How to start one execution environment's init.
struct LaunchSpec {
  std::string init_path;               // lambent-init
  std::vector<std::string> init_args;  // after argv[0]
  std::vector<std::string> env;        // "KEY=VALUE", the runtime's environment
  bool pid_namespace = false;
  std::optional<SandboxLaunch> sandbox;  // set: all namespaces, ids mapped, cgroup joined
};

// A started environment: its init, the daemon's end of the control socket, and the read end
// of the pipe that carries the runtime's stdout and stderr (non-blocking, close-on-exec).
struct LaunchedEnvironment {
  Child init;
  Fd control;
  Fd output;
  bool from_zygote = false;  // the runtime was forked from the python zygote
};

// Host uids/gids for environments: each live environment's root maps to its own, so no two
// environments can signal or trace each other. Without root every environment maps to the
// daemon's own ids (the kernel allows nothing else). Not thread-safe: used on the thread
// that constructs it only (the io thread; checked).
class HostIds {
 public:
  explicit HostIds(bool root) : root_(root) { thread_.BindHere(); }
  // The id for a new environment; Release it when the environment is gone.
  uid_t Acquire();
  void Release(uid_t id);

 private:
  static constexpr uid_t kBase = 400000;
  ThreadAffinity thread_;
  bool root_;
  uid_t next_ = 0;
  std::vector<uid_t> free_;
};

// A detached, read-only, nosuid, nodev copy of the mount at `path` (relative to `dirfd`,
// or `dirfd` itself when `path` is empty), which an environment's init attaches with
// move_mount. A bind by path cannot cross into the environment's mount namespace, and the
// environment's ids may not even be allowed to walk to the path.
Result<Fd> OpenReadOnlyTree(int dirfd, const std::string& path);

// The daemon's spawner (init/spawner.h): `lambent-init --spawner`, which clones sandboxed
// environments as children of the daemon from its own small address space.
struct Spawner {
  Child process;
  Fd socket;  // SandboxLaunch::spawner_fd
};
// Starts it from lambent-init's O_PATH descriptor. Like Launch, must be called from a thread
// that lives as long as the daemon: environments' parent-death signal follows that thread.
// Its socket serves one request at a time: use it from one thread (the LaunchThread).
Result<Spawner> StartSpawner(int init_fd);

// Starts lambent-init with the control socket as fd 3 and the output pipe as fds 1 and 2.
// init dies with the daemon (PR_SET_PDEATHSIG). Must be called from a thread that lives as
// long as the daemon: the parent-death signal follows the thread that forked (the daemon's
// LaunchThread). Blocks: a spawner round trip or a clone, milliseconds.
Result<LaunchedEnvironment> Launch(const LaunchSpec& spec);

}  // namespace lambent::sandbox
