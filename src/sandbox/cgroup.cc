#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/fd.h"

namespace lambent::sandbox {

namespace fs = std::filesystem;

namespace {

// The CFS bandwidth period. A function over its quota waits for the next period, so the
// period bounds the stall: a 128 MB function (a quarter of a CPU) that spends its 2.5 ms
// waits at most 7.5 ms, where the kernel's default 100 ms period made it wait 75 ms. The
// share over any longer span is the same. The burst (where the kernel has it) lets a
// function bank unused quota for one more period's worth, so a short spike is not stalled.
constexpr int64_t kCpuPeriodUs = 10000;

Result<void> WriteFile(const fs::path& path, std::string_view value) {
  // O_CREAT is harmless on cgroupfs (its files exist or cannot be made) and lets the
  // tests use a plain directory laid out like it.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644));
  if (!fd) return tl::unexpected(Error::System("open", path.string(), errno));
  if (::write(fd.get(), value.data(), value.size()) != ssize_t(value.size())) {
    return tl::unexpected(Error::System("write", path.string(), errno));
  }
  return Ok();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t ReadNumber(const fs::path& path) {
  std::string text = ReadFile(path);
  return text.empty() ? 0 : std::atoll(text.c_str());
}

// "key value" lines, as memory.events and memory.oom_control hold.
int64_t ReadKey(const fs::path& path, std::string_view key) {
  std::istringstream in(ReadFile(path));
  std::string k;
  int64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

int64_t PreadNumber(const Fd& fd) {
  char buffer[32];
  ssize_t n = fd ? ::pread(fd.get(), buffer, sizeof(buffer) - 1, 0) : -1;
  if (n <= 0) return 0;
  buffer[n] = '\0';
  return std::atoll(buffer);
}

// The freezer's state file, opened once so that freezing and thawing are one write each.
Fd OpenFreezer(const fs::path& file) {
  return Fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
}

// One write to a control file held open (cgroupfs ignores the offset; a test's plain file
// is overwritten in place).
Result<void> WriteHeld(const Fd& fd, std::string_view value, const char* what) {
  if (!fd) return tl::unexpected(Error(ErrorCode::kSystem, std::string("no cgroup freezer: ") + what));
  if (::pwrite(fd.get(), value.data(), value.size(), 0) != ssize_t(value.size())) {
    return tl::unexpected(Error::System("write", what, errno));
  }
  return Ok();
}

// Kills every process listed in `procs` until the file is empty, then removes `dir`.
void KillAndRemove(const fs::path& dir, const char* procs_file) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::istringstream in(ReadFile(dir / procs_file));
    pid_t pid;
    bool any = false;
    while (in >> pid) {
      ::kill(pid, SIGKILL);
      any = true;
    }
    if (!any && ::rmdir(dir.c_str()) == 0) return;
    if (!any && errno != EBUSY) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

class CgroupDirV1 : public CgroupDir {
 public:
  explicit CgroupDirV1(std::vector<std::pair<std::string, fs::path>> dirs) : dirs_(std::move(dirs)) {
    for (const auto& [controller, dir] : dirs_) {
      if (controller == "memory") peak_.reset(::open((dir / "memory.max_usage_in_bytes").c_str(), O_RDONLY | O_CLOEXEC));
      if (controller == "freezer") freezer_ = OpenFreezer(dir / "freezer.state");
    }
  }
  int64_t PeakMemoryBytes() const override { return PreadNumber(peak_); }
  bool CanFreeze() const override { return freezer_.valid(); }
  Result<void> Freeze() override { return WriteHeld(freezer_, "FROZEN", "freezer.state"); }
  Result<void> Thaw() override { return WriteHeld(freezer_, "THAWED", "freezer.state"); }
  ~CgroupDirV1() override {
    // A frozen v1 process would sit out the SIGKILL below.
    if (freezer_) (void)Thaw();
    peak_.reset();
    for (auto& [_, dir] : dirs_) KillAndRemove(dir, "cgroup.procs");
  }

  Result<void> Attach(pid_t pid) override {
    for (auto& [_, dir] : dirs_) {
      if (auto ok = WriteFile(dir / "cgroup.procs", std::to_string(pid)); !ok) return ok;
    }
    return Ok();
  }

  // Writing "0" (the caller's own thread) to `tasks` skips the global threadgroup lock on
  // current kernels (older ones take it, and are merely slower); the new process has one
  // thread, so its thread is all of it.
  Result<CgroupJoin> PrepareJoin() const override {
    CgroupJoin join;
    for (const auto& [_, dir] : dirs_) {
      fs::path tasks = dir / "tasks";
      Fd fd(::open(tasks.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644));
      if (!fd) return tl::unexpected(Error::System("open", tasks.string(), errno));
      join.self_tasks.push_back(std::move(fd));
    }
    return join;
  }

  Result<void> SetLimits(const CgroupLimits& limits) override {
    for (const auto& [controller, dir] : dirs_) {
      Result<void> ok = Ok();
      if (controller == "memory") {
        std::string bytes = std::to_string(limits.memory_bytes);
        // memsw (present when swap is accounted) may never be below the memory limit:
        // lowering writes the memory limit first, raising writes memsw first.
        fs::path memsw = dir / "memory.memsw.limit_in_bytes";
        bool has_memsw = fs::exists(memsw);
        bool lowering = limits.memory_bytes < ReadNumber(dir / "memory.limit_in_bytes");
        if (has_memsw && !lowering) ok = WriteFile(memsw, bytes);
        if (ok) ok = WriteFile(dir / "memory.limit_in_bytes", bytes);
        if (ok && has_memsw && lowering) ok = WriteFile(memsw, bytes);
        if (ok && fs::exists(dir / "memory.swappiness")) (void)WriteFile(dir / "memory.swappiness", "0");
      } else if (controller == "pids") {
        ok = WriteFile(dir / "pids.max", std::to_string(limits.pids));
      } else if (controller == "cpu") {
        ok = WriteFile(dir / "cpu.cfs_period_us", std::to_string(kCpuPeriodUs));
        if (ok) ok = SetCpus(limits.cpus);
      }
      if (!ok) return ok;
    }
    return Ok();
  }

  Result<void> SetCpus(double cpus) override {
    auto it = std::find_if(dirs_.begin(), dirs_.end(), [](const auto& d) { return d.first == "cpu"; });
    if (it == dirs_.end()) return Ok();
    const fs::path& dir = it->second;
    const std::string quota = std::to_string(int64_t(kCpuPeriodUs * cpus));
    // The kernel refuses a quota below the burst: the burst goes first and comes back last.
    const bool has_burst = fs::exists(dir / "cpu.cfs_burst_us");
    Result<void> ok = Ok();
    if (has_burst) ok = WriteFile(dir / "cpu.cfs_burst_us", "0");
    if (ok) ok = WriteFile(dir / "cpu.cfs_quota_us", quota);
    if (ok && has_burst) ok = WriteFile(dir / "cpu.cfs_burst_us", quota);
    return ok;
  }

  CgroupUsage Usage() const override {
    CgroupUsage usage;
    for (const auto& [controller, dir] : dirs_) {
      if (controller != "memory") continue;
      usage.peak_memory_bytes = ReadNumber(dir / "memory.max_usage_in_bytes");
      // oom_kill counts kills inside this group (Linux 4.13+); under_oom only says "now".
      usage.oom_killed = ReadKey(dir / "memory.oom_control", "oom_kill") > 0;
    }
    return usage;
  }

 private:
  std::vector<std::pair<std::string, fs::path>> dirs_;
  Fd peak_;
  Fd freezer_;  // freezer.state; invalid without the freezer hierarchy
};

class CgroupV1 : public CgroupManager {
 public:
  explicit CgroupV1(std::vector<std::pair<std::string, fs::path>> parents) : parents_(std::move(parents)) {
    KeepFreezerActive();
  }
  ~CgroupV1() override {
    if (!sentinel_.empty()) ::rmdir(sentinel_.c_str());
    for (auto& [_, parent] : parents_) ::rmdir(parent.c_str());
  }

  Result<std::unique_ptr<CgroupDir>> Create(const std::string& name, const CgroupLimits& limits) override {
    std::vector<std::pair<std::string, fs::path>> made;
    auto cleanup = [&] {
      for (auto& [_, dir] : made) ::rmdir(dir.c_str());
    };
    for (const auto& [controller, parent] : parents_) {
      fs::path dir = parent / name;
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        int e = errno;
        cleanup();
        return tl::unexpected(Error::System("mkdir", dir.string(), e));
      }
      made.emplace_back(controller, dir);
    }
    auto result = std::unique_ptr<CgroupDir>(new CgroupDirV1(made));
    // No swap: memsw may be absent when swap accounting is off, which is fine.
    if (auto ok = result->SetLimits(limits); !ok) {
      result.reset();  // its destructor removes the directories
      return tl::unexpected(ok.error());
    }
    return result;
  }

  bool Freezes() const override {
    return std::any_of(parents_.begin(), parents_.end(), [](const auto& p) { return p.first == "freezer"; });
  }

  // The v1 freezer switches a kernel static key on while any group is frozen, and off when
  // the last one thaws: patching the kernel's text takes milliseconds, and would fall on the
  // thaw before an invocation whenever only one environment was frozen. An empty group that
  // stays frozen keeps it on.
  void KeepFreezerActive() {
    for (const auto& [controller, parent] : parents_) {
      if (controller != "freezer") continue;
      fs::path sentinel = parent / "frozen-sentinel";
      if (::mkdir(sentinel.c_str(), 0755) != 0 && errno != EEXIST) return;
      if (WriteFile(sentinel / "freezer.state", "FROZEN")) sentinel_ = sentinel;
    }
  }

  std::string Describe() const override {
    std::string out = "cgroup v1:";
    for (const auto& [controller, parent] : parents_) out += fmt::format(" {}={}", controller, parent.string());
    return out;
  }
  std::vector<fs::path> Parents() const override {
    std::vector<fs::path> out;
    for (const auto& [_, parent] : parents_) out.push_back(parent);
    return out;
  }

 private:
  std::vector<std::pair<std::string, fs::path>> parents_;
  fs::path sentinel_;  // KeepFreezerActive's group
};

class CgroupDirV2 : public CgroupDir {
 public:
  explicit CgroupDirV2(fs::path dir)
      : dir_(std::move(dir)),
        peak_(::open((dir_ / "memory.peak").c_str(), O_RDONLY | O_CLOEXEC)),
        freezer_(OpenFreezer(dir_ / "cgroup.freeze")) {}
  int64_t PeakMemoryBytes() const override { return PreadNumber(peak_); }
  bool CanFreeze() const override { return freezer_.valid(); }
  Result<void> Freeze() override { return WriteHeld(freezer_, "1", "cgroup.freeze"); }
  Result<void> Thaw() override { return WriteHeld(freezer_, "0", "cgroup.freeze"); }
  ~CgroupDirV2() override {
    peak_.reset();
    // cgroup.kill (5.14+) ends everything at once, frozen or not.
    if (fs::exists(dir_ / "cgroup.kill")) (void)WriteFile(dir_ / "cgroup.kill", "1");
    KillAndRemove(dir_, "cgroup.procs");
  }
  Result<void> Attach(pid_t pid) override { return WriteFile(dir_ / "cgroup.procs", std::to_string(pid)); }
  Result<CgroupJoin> PrepareJoin() const override {
    CgroupJoin join;
    join.clone_into.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!join.clone_into) return tl::unexpected(Error::System("open", dir_.string(), errno));
    return join;
  }
  Result<void> SetLimits(const CgroupLimits& limits) override {
    for (auto [file, value] : std::initializer_list<std::pair<const char*, std::string>>{
             {"memory.max", std::to_string(limits.memory_bytes)},
             {"memory.swap.max", "0"},
             {"pids.max", std::to_string(limits.pids)},
             {"cpu.max.burst", "0"},  // below any new quota, which it may not exceed
             {"cpu.max", fmt::format("{} {}", int64_t(kCpuPeriodUs * limits.cpus), kCpuPeriodUs)},
             {"cpu.max.burst", std::to_string(int64_t(kCpuPeriodUs * limits.cpus))}}) {
      if ((std::string_view(file) == "memory.swap.max" || std::string_view(file) == "cpu.max.burst") &&
          !fs::exists(dir_ / file)) {
        continue;
      }
      if (auto ok = WriteFile(dir_ / file, value); !ok) return ok;
    }
    return Ok();
  }
  Result<void> SetCpus(double cpus) override {
    const int64_t quota = int64_t(kCpuPeriodUs * cpus);
    const bool has_burst = fs::exists(dir_ / "cpu.max.burst");
    Result<void> ok = Ok();
    if (has_burst) ok = WriteFile(dir_ / "cpu.max.burst", "0");
    if (ok) ok = WriteFile(dir_ / "cpu.max", fmt::format("{} {}", quota, kCpuPeriodUs));
    if (ok && has_burst) ok = WriteFile(dir_ / "cpu.max.burst", std::to_string(quota));
    return ok;
  }
  CgroupUsage Usage() const override {
    return {ReadNumber(dir_ / "memory.peak"), ReadKey(dir_ / "memory.events", "oom_kill") > 0};
  }

 private:
  fs::path dir_;
  Fd peak_;
  Fd freezer_;  // cgroup.freeze
};

class CgroupV2 : public CgroupManager {
 public:
  explicit CgroupV2(fs::path parent) : parent_(std::move(parent)) {}
  ~CgroupV2() override { ::rmdir(parent_.c_str()); }

  Result<std::unique_ptr<CgroupDir>> Create(const std::string& name, const CgroupLimits& limits) override {
    fs::path dir = parent_ / name;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return tl::unexpected(Error::System("mkdir", dir.string(), errno));
    }
    auto result = std::unique_ptr<CgroupDir>(new CgroupDirV2(dir));
    if (auto ok = result->SetLimits(limits); !ok) return tl::unexpected(ok.error());
    return result;
  }

  std::string Describe() const override { return "cgroup v2: " + parent_.string(); }
  bool Freezes() const override { return true; }
  std::vector<fs::path> Parents() const override { return {parent_}; }

 private:
  fs::path parent_;
};

// The path of this process's cgroup in a hierarchy, from /proc/self/cgroup text:
// "4:memory:/a/b" for v1 controller "memory", "0::/a/b" for v2 (controller "").
std::string OwnPath(const std::string& own_cgroup, const std::string& controller) {
  std::istringstream in(own_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (controller.empty() ? controllers.empty() : (',' + controllers + ',').find(',' + controller + ',') != std::string::npos) {
      return path;
    }
  }
  return "/";
}

// Makes <base>/<group>/<our pid> and returns it. Groups of daemons that are gone (killed
// before they could clean up) are removed on the way: their environments died with them.
Result<fs::path> PrepareParent(const fs::path& base, const std::string& group, const char* procs_file) {
  std::error_code ec;
  fs::path shared = base / group;
  fs::create_directories(shared, ec);
  if (ec) return tl::unexpected(Error::System("mkdir", shared.string(), ec.value()));
  for (const auto& entry : fs::directory_iterator(shared, ec)) {
    if (!entry.is_directory()) continue;
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::exists("/proc/" + name)) continue;
    for (const auto& env : fs::directory_iterator(entry.path(), ec)) {
      if (env.is_directory()) KillAndRemove(env.path(), procs_file);
    }
    ::rmdir(entry.path().c_str());
  }
  fs::path own = shared / std::to_string(::getpid());
  fs::create_directories(own, ec);
  if (ec) return tl::unexpected(Error::System("mkdir", own.string(), ec.value()));
  return own;
}

// The v1 freezer hierarchy's parent for our groups, or nullopt when it is not mounted (idle
// environments are then not frozen). Environments of a daemon that died while they were
// frozen still hold its SIGKILL pending: thawing lets it land, and lets PrepareParent's own
// SIGKILL through.
std::optional<fs::path> PrepareFreezerParent(const fs::path& root, const std::string& own_cgroup,
                                             const std::string& group_name) {
  fs::path hierarchy = root / "freezer";
  if (!fs::exists(hierarchy / "cgroup.procs")) return std::nullopt;
  fs::path base = hierarchy / fs::path(OwnPath(own_cgroup, "freezer")).relative_path();
  std::error_code ec;
  for (const auto& daemon : fs::directory_iterator(base / group_name, ec)) {
    std::string name = daemon.path().filename().string();
    if (!daemon.is_directory() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::exists("/proc/" + name)) continue;
    for (const auto& env : fs::directory_iterator(daemon.path(), ec)) {
      if (env.is_directory()) (void)WriteFile(env.path() / "freezer.state", "THAWED");
    }
  }
  auto parent = PrepareParent(base, group_name, "cgroup.procs");
  if (!parent) return std::nullopt;
  return *parent;
}

}  // namespace

std::unique_ptr<CgroupManager> MakeCgroupV1(std::vector<std::pair<std::string, fs::path>> controllers) {
  return std::make_unique<CgroupV1>(std::move(controllers));
}

std::unique_ptr<CgroupManager> MakeCgroupV2(fs::path parent) { return std::make_unique<CgroupV2>(std::move(parent)); }

double CpusForMemory(int memory_mb, double floor) {
  return std::max(floor, double(memory_mb) / 1769.0);
}

Result<std::unique_ptr<CgroupManager>> CgroupManager::Detect(const fs::path& root, const std::string& own_cgroup,
                                                              const std::string& group_name) {
  std::error_code ec;
  // v2: the unified hierarchy at the root, or at root/unified on hybrid hosts.
  for (fs::path unified : {root, root / "unified"}) {
    std::string controllers = ReadFile(unified / "cgroup.controllers");
    if (controllers.find("memory") == std::string::npos || controllers.find("pids") == std::string::npos) continue;
    fs::path own = unified / fs::path(OwnPath(own_cgroup, "")).relative_path();
    auto parent = PrepareParent(own, group_name, "cgroup.procs");
    if (!parent) continue;
    // Controllers must be enabled for the children of each level we create groups in.
    (void)WriteFile(own / "cgroup.subtree_control", "+memory +pids +cpu");
    (void)WriteFile(own / group_name / "cgroup.subtree_control", "+memory +pids +cpu");
    (void)WriteFile(*parent / "cgroup.subtree_control", "+memory +pids +cpu");
    return MakeCgroupV2(*parent);
  }
  std::vector<std::pair<std::string, fs::path>> parents;
  // First: the groups of a daemon that is gone are thawed here before they are killed below.
  if (auto freezer = PrepareFreezerParent(root, own_cgroup, group_name)) parents.emplace_back("freezer", *freezer);
  for (std::string controller : {"memory", "pids", "cpu"}) {
    fs::path hierarchy = root / controller;
    if (!fs::exists(hierarchy / "cgroup.procs")) {
      return tl::unexpected(Error(ErrorCode::kSystem, "no usable cgroup hierarchy for " + controller));
    }
    auto parent = PrepareParent(hierarchy / fs::path(OwnPath(own_cgroup, controller)).relative_path(),
                                group_name, "cgroup.procs");
    if (!parent) return tl::unexpected(parent.error());
    if (controller == "memory") {
      // Children must count toward this group's usage (the default on most hosts).
      (void)WriteFile(*parent / "memory.use_hierarchy", "1");
    }
    parents.emplace_back(controller, *parent);
  }
  return MakeCgroupV1(std::move(parents));
}

}  // namespace lambent::sandbox
