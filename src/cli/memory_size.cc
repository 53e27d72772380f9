#include "cli/memory_size.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace lambent::cli {

int64_t PhysicalMemoryMb() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return int64_t(pages) * int64_t(page_size) >> 20;
}

namespace {

// The first line of a small cgroup file, or "" when it cannot be read.
std::string ReadLine(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::optional<int64_t> CgroupMemoryLimitMb(const std::filesystem::path& root,
                                           const std::string& own_cgroup) {
  std::optional<int64_t> lowest;
  std::istringstream lines(own_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    // "0::/a/b" on v2, "4:memory:/a/b" on v1.
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    bool v2 = controllers == ",,";
    if (!v2 && controllers.find(",memory,") == std::string::npos) continue;
    std::filesystem::path base = v2 ? root : root / "memory";
    const char* file = v2 ? "memory.max" : "memory.limit_in_bytes";
    // The daemon's own group, then each ancestor up to the hierarchy's root.
    for (auto at = std::filesystem::path(line.substr(second + 1)).relative_path();;
         at = at.parent_path()) {
      // "max" (v2) and a huge page-rounded LONG_MAX (v1) both mean no limit.
      std::string text = ReadLine(base / at / file);
      char* end = nullptr;
      long long bytes = text.empty() ? 0 : std::strtoll(text.c_str(), &end, 10);
      if (bytes > 0 && end && *end == '\0' && bytes < (int64_t(1) << 60)) {
        int64_t mb = bytes >> 20;
        if (!lowest || mb < *lowest) lowest = mb;
      }
      if (at.empty()) break;
    }
  }
  return lowest;
}

int64_t HostMemoryMb() {
  int64_t physical = PhysicalMemoryMb();
  std::ifstream in("/proc/self/cgroup");
  std::stringstream own;
  own << in.rdbuf();
  if (auto limit = CgroupMemoryLimitMb("/sys/fs/cgroup", own.str());
      limit && (physical == 0 || *limit < physical)) {
    return *limit;
  }
  return physical;
}

int64_t DefaultMemoryBudgetMb() { return HostMemoryMb() * 8 / 10; }

Result<int64_t> ParseMemorySizeMb(std::string_view text, int64_t host_mb) {
  auto invalid = [&] {
    return tl::unexpected(Error::Invalid(fmt::format(
        "'{}' is not a memory size: give MiB (4096), a size with a unit (800M, 4G, 1.5GiB) or a "
        "share of the host's memory (50%)",
        text)));
  };
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return invalid();
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits || !std::isfinite(number)) return invalid();
  std::string unit(text.substr(digits));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  double mb = 0;
  if (unit.empty() || unit == "m" || unit == "mb" || unit == "mib") {
    mb = number;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mb = number / 1024;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mb = number * 1024;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    mb = number * 1024 * 1024;
  } else if (unit == "%") {
    if (number > 100) {
      return tl::unexpected(
          Error::Invalid(fmt::format("'{}': a share of the host's memory is at most 100%", text)));
    }
    if (host_mb <= 0) {
      return tl::unexpected(
          Error::Invalid(fmt::format("'{}': this host does not say how much memory it has", text)));
    }
    mb = double(host_mb) * number / 100;
  } else {
    return invalid();
  }
  // Far past any host, and past what int64 MiB arithmetic downstream can add up safely.
  if (mb > double(int64_t(1) << 40)) {
    return tl::unexpected(
        Error::Invalid(fmt::format("'{}' is larger than any host's memory", text)));
  }
  if (number > 0 && mb < 1) {
    return tl::unexpected(Error::Invalid(fmt::format("'{}' is less than 1 MiB", text)));
  }
  return int64_t(mb);
}

}  // namespace lambent::cli
