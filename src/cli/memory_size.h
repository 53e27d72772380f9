#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace lambent::cli {

// Physical memory of the host in MiB (sysconf), 0 when the kernel does not say.
int64_t PhysicalMemoryMb();

// The lowest memory limit on the cgroup `own_cgroup` names (the text of /proc/self/cgroup) or
// any of its ancestors, under the hierarchy mounted at `root` (v2 memory.max, v1
// memory.limit_in_bytes), in MiB; nullopt when none is set. Environments' cgroups sit below
// the daemon's, so a container's limit bounds them all.
std::optional<int64_t> CgroupMemoryLimitMb(const std::filesystem::path& root,
                                           const std::string& own_cgroup);

// What memory the daemon's environments can have at most: physical memory, or the daemon's
// cgroup limit when that is lower (a container). 0 when unknown.
int64_t HostMemoryMb();

// `lambent serve --memory-budget`'s default: 80% of HostMemoryMb(), leaving the rest to the
// daemon, the page cache and whatever else the host runs. 0 (no budget) when unknown.
int64_t DefaultMemoryBudgetMb();

// Parses a memory size into MiB, as an operator writes one: "4096" (MiB, like Lambda's
// MemorySize), "800M", "800MB", "4G", "1.5GiB", "1T" (units are binary and case-insensitive),
// or "50%" of `host_mb` (HostMemoryMb()). "0" is 0. kInvalidArgument names what is wrong. Pure.
Result<int64_t> ParseMemorySizeMb(std::string_view text, int64_t host_mb);

}  // namespace lambent::cli
