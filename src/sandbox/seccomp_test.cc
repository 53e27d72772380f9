#include "sandbox/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "init/seccomp_load.h"

namespace lambent::sandbox {
namespace {

TEST(SeccompPolicy, TheBuiltInPolicyParsesAndCoversEveryFamily) {
  auto rules = ParseSeccompPolicy(BuiltInSeccompPolicy());
  ASSERT_TRUE(rules) << rules.error().message();
  std::set<std::string> families;
  for (const auto& r : *rules) families.insert(r.family);
  EXPECT_EQ(families, (std::set<std::string>{"mount", "namespaces", "machine", "modules", "kernel",
                                              "tracing", "keys", "handles", "clock"}));
}

TEST(SeccompPolicy, RejectsMalformedLines) {
  EXPECT_FALSE(ParseSeccompPolicy("mount"));
  EXPECT_FALSE(ParseSeccompPolicy("mount mount explode"));
  EXPECT_FALSE(ParseSeccompPolicy("ns clone eperm flags:CLONE_NEWFOO"));
  EXPECT_TRUE(ParseSeccompPolicy("# comment only\n\nmount mount # trailing\n"));
}

// Runs `probe` in a child under the compiled built-in filter; returns the child's exit code
// (the errno the probe saw, 0 for success).
int UnderFilter(const std::function<int()>& probe) {
  auto rules = ParseSeccompPolicy(BuiltInSeccompPolicy());
  auto bpf = CompileSeccomp(*rules);
  EXPECT_TRUE(bpf) << bpf.error().message();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (init::LoadSeccompFilter(bpf->get()) != 0) _exit(250);
    _exit(probe());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 251;
}

int ErrnoOf(long rc) { return rc < 0 ? errno : 0; }

TEST(SeccompFilter, AllowsOrdinaryWork) {
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::getpid() > 0 ? 0 : -1); }), 0);
  EXPECT_EQ(UnderFilter([] {
    pid_t child = ::fork();  // clone without namespace flags
    if (child == 0) _exit(0);
    return child > 0 ? 0 : errno;
  }), 0);
}

TEST(SeccompFilter, DeniesMounting) {
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::mount("none", "/mnt", "tmpfs", 0, nullptr)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_pivot_root, ".", ".")); }), EPERM);
}

TEST(SeccompFilter, DeniesNewNamespaces) {
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::unshare(CLONE_NEWUSER)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_setns, 0, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] {
    return ErrnoOf(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_clone3, nullptr, 0)); }), ENOSYS);
}

TEST(SeccompFilter, DeniesTheMachineModulesKernelTracingKeysHandlesAndClock) {
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_reboot, 0, 0, 0, nullptr)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_finit_module, -1, "", 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_bpf, 0, nullptr, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_ptrace, 0, 0, 0, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_pidfd_getfd, -1, 0, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_io_uring_setup, 1, nullptr)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_open_by_handle_at, -1, nullptr, 0)); }), EPERM);
  EXPECT_EQ(UnderFilter([] { return ErrnoOf(::syscall(SYS_settimeofday, nullptr, nullptr)); }), EPERM);
}

}  // namespace
}  // namespace lambent::sandbox
