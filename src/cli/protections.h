#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "sandbox/cgroup.h"
#include "sandbox/launcher.h"

namespace lambent::cli {

// What the host lets the daemon apply to environments, found once at start-up.
struct Protections {
  sandbox::Capabilities capabilities;
  std::unique_ptr<sandbox::CgroupManager> cgroups;  // null when unavailable
  std::string cgroup_error;
  Fd seccomp;  // compiled deny-list; invalid when unavailable
  std::string seccomp_error;
  std::string tmp_on_disk_error;  // why /tmp cannot be disk-backed (sandbox::TmpImageSupport)

  bool sandboxed() const { return capabilities.user_namespace && seccomp.valid(); }
  // One line per protection: "on  ..." or "OFF ... (why)", as `lambent doctor` prints.
  std::vector<std::string> Report() const;
};

Protections DetectProtections();

}  // namespace lambent::cli
