#include "cli/protections.h"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "sandbox/seccomp.h"
#include "sandbox/tmp_pool.h"

namespace lambent::cli {

Protections DetectProtections() {
  Protections p;
  p.capabilities = sandbox::ProbeCapabilities();
  std::ifstream own("/proc/self/cgroup");
  std::stringstream text;
  text << own.rdbuf();
  auto cgroups = sandbox::CgroupManager::Detect("/sys/fs/cgroup", text.str(), "lambent");
  if (cgroups) {
    p.cgroups = std::move(*cgroups);
  } else {
    p.cgroup_error = cgroups.error().message();
  }
  p.tmp_on_disk_error = sandbox::TmpImageSupport();
  auto rules = sandbox::ParseSeccompPolicy(sandbox::BuiltInSeccompPolicy());
  if (!rules) {
    p.seccomp_error = rules.error().message();
  } else if (auto bpf = sandbox::CompileSeccomp(*rules); bpf) {
    p.seccomp = std::move(*bpf);
  } else {
    p.seccomp_error = bpf.error().message();
  }
  return p;
}

std::vector<std::string> Protections::Report() const {
  std::vector<std::string> lines;
  auto line = [&](bool on, std::string_view what, std::string_view why_not) {
    lines.push_back(on ? fmt::format("on   {}", what) : fmt::format("OFF  {} ({})", what, why_not));
  };
  line(capabilities.user_namespace,
       "namespaces: user, pid, mount, ipc, uts, net, cgroup; own root file system (pivot_root)",
       "cannot create user namespaces: run as root or enable unprivileged user namespaces");
  line(capabilities.root && capabilities.user_namespace, "a distinct host uid/gid per environment",
       "needs root; environments share the daemon's uid but still cannot see each other");
  line(seccomp.valid(), "seccomp deny-list, no_new_privs, all capabilities dropped", seccomp_error);
  line(cgroups != nullptr,
       cgroups ? fmt::format("cgroups: memory (no swap), pids, cpu quota — {}", cgroups->Describe())
               : std::string("cgroups: memory, pids, cpu limits"),
       cgroup_error + "; functions run without memory, process and CPU limits");
  line(cgroups && cgroups->Freezes(), "idle environments frozen (cgroup freezer): no CPU between invocations",
       cgroups ? "no freezer hierarchy" : "no cgroups");
  line(capabilities.user_namespace && tmp_on_disk_error.empty(),
       "/tmp on disk: ext4 on a loop device per environment, sized by EphemeralStorage, not counted in memory",
       (tmp_on_disk_error.empty() ? std::string("needs the sandbox") : tmp_on_disk_error) +
           "; /tmp is a tmpfs that counts against the function's memory");
  return lines;
}

int Doctor() {
  Protections p = DetectProtections();
  for (const auto& line : p.Report()) std::cout << line << "\n";
  std::cout << (p.sandboxed() ? "environments are sandboxed\n"
                              : "environments are NOT sandboxed: run lambent serve as root\n");
  return 0;
}

}  // namespace lambent::cli
