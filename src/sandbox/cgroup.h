#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace lambent::sandbox {

// The limits of one environment.
struct CgroupLimits {
  int64_t memory_bytes = 128ll << 20;  // hard limit, no swap
  int64_t pids = 1024;
  double cpus = 1.0;                   // CPU quota in cores
};

// What an environment's cgroup tells after the fact.
struct CgroupUsage {
  int64_t peak_memory_bytes = 0;
  bool oom_killed = false;
};

// How a new process enters a cgroup as it is created. Moving a running process in
// (cgroup.procs) waits for an RCU grace period, milliseconds per controller on an idle host;
// a process that is born in the group (v2) or moves only its own thread (v1) does not.
struct CgroupJoin {
  Fd clone_into;             // v2: the group's directory, for clone3(CLONE_INTO_CGROUP)
  std::vector<Fd> self_tasks;  // v1: each controller's `tasks`, where the new process writes "0"
};

// One environment's cgroup, v1 (a directory per controller) or v2 (one directory). The
// destructor kills what is left inside and removes the directories. Move-only; not
// thread-safe, except that SetLimits changes nothing in the object: one thread may set the
// limits while the owner reads the usage or freezes the group.
class CgroupDir {
 public:
  virtual ~CgroupDir() = default;
  // Moves a running process in: the slow way, for when the kernel cannot do PrepareJoin's.
  virtual Result<void> Attach(pid_t pid) = 0;
  // What a process about to be created needs to be born in, or move itself into, the group.
  virtual Result<CgroupJoin> PrepareJoin() const = 0;
  // Replaces the limits: a prestarted environment gets its function's when it is assigned.
  virtual Result<void> SetLimits(const CgroupLimits& limits) = 0;
  // Replaces the CPU share alone (a few small writes): an environment's init phase ends.
  virtual Result<void> SetCpus(double cpus) = 0;
  virtual CgroupUsage Usage() const = 0;
  // The peak alone, read through a descriptor kept open: one pread, for every REPORT line.
  virtual int64_t PeakMemoryBytes() const = 0;
  // Whether the group can be frozen: v2 always, v1 when the freezer hierarchy is mounted.
  virtual bool CanFreeze() const = 0;
  // Stops every process of the group where it is (it uses no CPU and reads nothing until
  // thawed) or lets it go on. Each is one write to a descriptor kept open since Create; a
  // v1 freeze may still be settling when it returns. A frozen v1 process ignores even
  // SIGKILL: thaw before killing. Errors when CanFreeze() is false or the write fails.
  virtual Result<void> Freeze() = 0;
  virtual Result<void> Thaw() = 0;
};

// Creates environment cgroups under one parent. Thread-compatible: Create changes nothing in
// the manager, so one thread (the launcher) may create groups while others use theirs.
class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  virtual Result<std::unique_ptr<CgroupDir>> Create(const std::string& name, const CgroupLimits& limits) = 0;
  virtual std::string Describe() const = 0;
  // Whether its groups can be frozen (CgroupDir::CanFreeze).
  virtual bool Freezes() const = 0;
  // The directories this manager creates groups in (one, or one per v1 controller, the
  // freezer's first): the tree to remove when the daemon is gone (CgroupWatchdog).
  virtual std::vector<std::filesystem::path> Parents() const = 0;

  // Picks v2 when the unified hierarchy has the memory and pids controllers, else v1 when the
  // memory, cpu and pids hierarchies are mounted (and the freezer's, when it is, joins them);
  // an error when neither works.
  // `root` is normally /sys/fs/cgroup; `own_cgroup` the contents of /proc/self/cgroup.
  static Result<std::unique_ptr<CgroupManager>> Detect(const std::filesystem::path& root,
                                                       const std::string& own_cgroup,
                                                       const std::string& group_name);
};

// Exposed for tests: v1 and v2 managers rooted at explicit directories.
std::unique_ptr<CgroupManager> MakeCgroupV1(std::vector<std::pair<std::string, std::filesystem::path>> controllers);
std::unique_ptr<CgroupManager> MakeCgroupV2(std::filesystem::path parent);

// Lambda's rule: 1,769 MB of memory buys one vCPU; `floor` keeps tiny functions usable.
double CpusForMemory(int memory_mb, double floor);

}  // namespace lambent::sandbox
