#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace lambent::sandbox {

// One rule of the deny-list (see seccomp_policy.txt).
struct SeccompRule {
  std::string family;
  std::string syscall;
  int error = 1;                     // errno returned: EPERM (1) or ENOSYS (38)
  std::vector<std::string> flags;    // deny only when arg0 has one of these clone flags
};

// Parses the policy text; kInvalidArgument names the bad line.
Result<std::vector<SeccompRule>> ParseSeccompPolicy(std::string_view text);
// The policy compiled into lambent.
std::string_view BuiltInSeccompPolicy();

// Compiles rules into a classic BPF program (struct sock_filter[] bytes) for this
// architecture, in a sealed memfd environments read at start-up. Syscalls the kernel's
// libseccomp does not know are skipped (they cannot be called either).
Result<Fd> CompileSeccomp(const std::vector<SeccompRule>& rules);

}  // namespace lambent::sandbox
