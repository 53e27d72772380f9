#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "init/sandbox_child.h"

// The spawner: a small process (`lambent-init --spawner`) that clones environments for the
// daemon. A clone copies the caller's page tables and the new process's execve tears them
// down again, so from the daemon every cold start costs in proportion to the daemon's
// memory; from the spawner it costs almost nothing. The environment is cloned with
// CLONE_PARENT: it is the daemon's child, which reaps it and which its parent-death signal
// follows, exactly as if the daemon had cloned it. The daemon talks to the spawner over a
// SOCK_SEQPACKET socketpair: one datagram per request (descriptors as SCM_RIGHTS), one reply.
namespace lambent::init {

struct SpawnRequest {
  unsigned long flags = 0;     // the namespaces to make (CLONE_NEW*)
  int fds[kChildFdCount] = {};  // see ChildFd; all must be open
  int cgroup_fd = -1;           // cgroup v2: the environment is born in it
  std::vector<int> self_tasks;  // cgroup v1: the `tasks` files it moves itself in with
  std::vector<std::string> argv;
  std::vector<std::string> envp;
};

struct SpawnResult {
  pid_t pid = -1;
  bool joined_cgroup = false;
};

// The daemon's side: asks the spawner listening on `socket` for one environment. Blocks
// until it answers (one clone) or the socket's receive timeout passes.
Result<SpawnResult> RequestSpawn(int socket, const SpawnRequest& request);

// The spawner's side: serves requests on `socket` until the daemon closes it. Returns the
// exit code.
int RunSpawner(int socket);

// The serving side's steps, shared with the python zygote (init/zygote.cc): receives one
// request into `out` (its descriptors owned by it): 1; 0 when the daemon is gone; -1 for a
// malformed one (already closed: answer it with an error). `buffer` is reused between calls.
int ReceiveSpawnRequest(int socket, std::string& buffer, SpawnRequest* out);
// The new process's plan for `request`: `argv` and `envp` are filled as execve takes them
// and must outlive the plan.
ChildPlan PlanChild(const SpawnRequest& request, std::vector<char*>& argv, std::vector<char*>& envp);
// Closes the descriptors a received request carried.
void CloseSpawnRequest(SpawnRequest& request);
// The one reply to a request; false when the daemon is gone.
bool SendSpawnReply(int socket, pid_t pid, int error, bool joined_cgroup);

// The descriptors of a request, in the order they travel.
std::vector<int> SpawnRequestFds(const SpawnRequest& request);

// The wire format of a request (the descriptors travel beside it), exposed for tests.
std::string EncodeSpawnRequest(const SpawnRequest& request);
// Fills `out` (descriptors from `fds`, in the order RequestSpawn sends them); false when the
// datagram is malformed or the descriptors do not match it.
bool DecodeSpawnRequest(std::string_view bytes, const std::vector<int>& fds, SpawnRequest* out);

}  // namespace lambent::init
