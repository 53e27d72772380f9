#include "sandbox/seccomp.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

namespace lambent::sandbox {
namespace {

constexpr char kPolicy[] =
#include "sandbox/seccomp_policy.inc"
    ;

const std::map<std::string, uint64_t> kCloneFlags = {
    {"CLONE_NEWUSER", CLONE_NEWUSER}, {"CLONE_NEWNS", CLONE_NEWNS},   {"CLONE_NEWPID", CLONE_NEWPID},
    {"CLONE_NEWNET", CLONE_NEWNET},   {"CLONE_NEWIPC", CLONE_NEWIPC}, {"CLONE_NEWUTS", CLONE_NEWUTS},
    {"CLONE_NEWCGROUP", CLONE_NEWCGROUP}};

}  // namespace

std::string_view BuiltInSeccompPolicy() { return kPolicy; }

Result<std::vector<SeccompRule>> ParseSeccompPolicy(std::string_view text) {
  std::vector<SeccompRule> rules;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty()) continue;
    auto bad = [&](std::string_view why) {
      return tl::unexpected(Error::Invalid(fmt::format("seccomp policy line {}: {}", number, why)));
    };
    if (w.size() < 2 || w.size() > 4) return bad("expected: family syscall [action] [condition]");
    SeccompRule rule{w[0], w[1]};
    for (size_t i = 2; i < w.size(); ++i) {
      if (w[i] == "eperm") {
        rule.error = EPERM;
      } else if (w[i] == "enosys") {
        rule.error = ENOSYS;
      } else if (w[i].starts_with("flags:")) {
        std::istringstream names(w[i].substr(6));
        for (std::string name; std::getline(names, name, ',');) {
          if (!kCloneFlags.contains(name)) return bad("unknown flag " + name);
          rule.flags.push_back(name);
        }
      } else {
        return bad("unknown word " + w[i]);
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<Fd> CompileSeccomp(const std::vector<SeccompRule>& rules) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!ctx) return tl::unexpected(Error::Internal("seccomp_init failed"));
  for (const auto& rule : rules) {
    int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc;
    if (rule.flags.empty()) {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(rule.error), nr, 0);
    } else {
      rc = 0;
      for (const auto& name : rule.flags) {
        uint64_t bit = kCloneFlags.at(name);
        rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(rule.error), nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
        if (rc < 0) break;
      }
    }
    if (rc < 0) {
      return tl::unexpected(Error(ErrorCode::kInternal,
                                  fmt::format("seccomp rule for {}: {}", rule.syscall, std::strerror(-rc))));
    }
  }
  Fd memfd(::memfd_create("lambent-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd) return tl::unexpected(Error::System("memfd_create", "seccomp", errno));
  if (int rc = seccomp_export_bpf(ctx.get(), memfd.get()); rc < 0) {
    return tl::unexpected(Error(ErrorCode::kInternal, fmt::format("seccomp_export_bpf: {}", std::strerror(-rc))));
  }
  // Environments only read it; sealing makes that a guarantee.
  ::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  return memfd;
}

}  // namespace lambent::sandbox
