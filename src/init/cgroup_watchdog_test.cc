#include "init/cgroup_watchdog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace lambent::init {
namespace {

namespace fs = std::filesystem;

// A test group under this process's own cgroup in a hierarchy we may write (v2, or v1's
// pids); empty when there is none. Creating groups needs root.
fs::path MakeTestGroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  std::vector<fs::path> candidates;
  while (std::getline(in, line)) {
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    fs::path own = fs::path(line.substr(second + 1)).relative_path();
    if (controllers.empty()) {
      candidates.push_back(fs::path("/sys/fs/cgroup") / own);
      candidates.push_back(fs::path("/sys/fs/cgroup/unified") / own);
    } else if (controllers == "pids") {
      candidates.push_back(fs::path("/sys/fs/cgroup/pids") / own);
    }
  }
  for (const auto& base : candidates) {
    if (!fs::exists(base / "cgroup.procs")) continue;
    fs::path group = base / ("lambent-watchdog-test-" + std::to_string(::getpid()));
    if (::mkdir(group.c_str(), 0755) == 0) return group;
  }
  return {};
}

bool NeedsRootAndIsNot() { return ::geteuid() != 0 && std::getenv("CI") == nullptr; }

// A process sleeping in `group`, as an environment of a dead daemon would be.
pid_t StartMember(const fs::path& group) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string self = std::to_string(::getpid());
    int fd = ::open((group / "cgroup.procs").c_str(), O_WRONLY);
    if (fd < 0 || ::write(fd, self.data(), self.size()) != ssize_t(self.size())) _exit(1);
    ::pause();
    _exit(0);
  }
  return pid;
}

bool HasMember(const fs::path& group, pid_t pid) {
  std::ifstream in(group / "cgroup.procs");
  pid_t member;
  while (in >> member) {
    if (member == pid) return true;
  }
  return false;
}

TEST(CgroupWatchdog, RemovesATreeOfGroupsAndKillsWhatRunsInThem) {
  if (NeedsRootAndIsNot()) GTEST_SKIP() << "creating cgroups needs root";
  fs::path daemon = MakeTestGroup();
  ASSERT_FALSE(daemon.empty()) << "no writable cgroup hierarchy";
  ASSERT_EQ(::mkdir((daemon / "env-a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((daemon / "env-b").c_str(), 0755), 0);
  pid_t member = StartMember(daemon / "env-a");
  for (int i = 0; i < 1000 && !HasMember(daemon / "env-a", member); ++i) ::usleep(1000);
  ASSERT_TRUE(HasMember(daemon / "env-a", member));

  EXPECT_TRUE(RemoveCgroupTree(daemon.string(), std::chrono::seconds(5)));
  EXPECT_FALSE(fs::exists(daemon));
  int status = 0;
  ASSERT_EQ(::waitpid(member, &status, 0), member);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(CgroupWatchdog, WaitsForItsLifelineToCloseThenCleansUp) {
  if (NeedsRootAndIsNot()) GTEST_SKIP() << "creating cgroups needs root";
  fs::path daemon = MakeTestGroup();
  ASSERT_FALSE(daemon.empty()) << "no writable cgroup hierarchy";
  ASSERT_EQ(::mkdir((daemon / "env-a").c_str(), 0755), 0);
  int lifeline[2];
  ASSERT_EQ(::pipe(lifeline), 0);
  pid_t watchdog = ::fork();
  if (watchdog == 0) {
    ::close(lifeline[1]);
    _exit(RunCgroupWatchdog(lifeline[0], {daemon.string()}));
  }
  ::close(lifeline[0]);
  ::usleep(50 * 1000);
  EXPECT_TRUE(fs::exists(daemon / "env-a"));  // the "daemon" still lives
  ::close(lifeline[1]);
  int status = -1;
  ASSERT_EQ(::waitpid(watchdog, &status, 0), watchdog);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(fs::exists(daemon));
}

TEST(CgroupWatchdog, LeavesADirectoryThatWasMadeAgainAfterItStarted) {
  // A plain directory: the watchdog must not even look inside one that is not the daemon's.
  fs::path dir = fs::temp_directory_path() / ("lambent-watchdog-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  int lifeline[2];
  ASSERT_EQ(::pipe(lifeline), 0);
  pid_t watchdog = ::fork();
  if (watchdog == 0) {
    ::close(lifeline[1]);
    _exit(RunCgroupWatchdog(lifeline[0], {dir.string()}));
  }
  ::close(lifeline[0]);
  ::usleep(100 * 1000);
  // Removed and made again, as by a new daemon that got the same pid. (Made aside first:
  // a plain file system may hand a new directory the inode number just freed; cgroupfs
  // allocates its numbers cyclically.)
  fs::path other = dir.string() + "-new";
  fs::create_directories(other / "env-of-the-new-daemon");
  fs::remove(dir);
  fs::rename(other, dir);
  ::close(lifeline[1]);
  int status = -1;
  ASSERT_EQ(::waitpid(watchdog, &status, 0), watchdog);
  EXPECT_TRUE(fs::exists(dir / "env-of-the-new-daemon"));
  fs::remove_all(dir);
}

TEST(CgroupWatchdog, ATreeThatIsAlreadyGoneIsDone) {
  EXPECT_TRUE(RemoveCgroupTree("/nonexistent/lambent-test", std::chrono::milliseconds(10)));
}

}  // namespace
}  // namespace lambent::init
