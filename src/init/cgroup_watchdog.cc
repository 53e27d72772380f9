#include "init/cgroup_watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace lambent::init {
namespace {

// Writes `value` to an existing control file; a file the group does not have is skipped.
void WriteControl(const std::string& path, const char* value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, value, std::strlen(value));
  ::close(fd);
}

void KillMembers(const std::string& procs) {
  int fd = ::open(procs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, size_t(n));
  ::close(fd);
  const char* p = text.c_str();
  char* end = nullptr;
  for (long pid = std::strtol(p, &end, 10); end != p; pid = std::strtol(p, &end, 10)) {
    if (pid > 0) ::kill(pid_t(pid), SIGKILL);
    p = end;
  }
}

// One pass over `dir`: its child groups first (a group with children cannot be removed).
bool RemoveOnce(const std::string& dir) {
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return errno == ENOENT;
  bool children_gone = true;
  while (struct dirent* entry = ::readdir(listing)) {
    if (entry->d_type != DT_DIR || std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) {
      continue;
    }
    children_gone &= RemoveOnce(dir + "/" + entry->d_name);
  }
  ::closedir(listing);
  // A frozen process would sit out its SIGKILL (v1), so thaw first.
  WriteControl(dir + "/freezer.state", "THAWED");
  WriteControl(dir + "/cgroup.freeze", "0");
  WriteControl(dir + "/cgroup.kill", "1");
  KillMembers(dir + "/cgroup.procs");
  if (!children_gone) return false;
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

}  // namespace

bool RemoveCgroupTree(const std::string& dir, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (RemoveOnce(dir)) return true;
    // Killed processes take a moment to exit, and their group to empty.
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int RunCgroupWatchdog(int lifeline, const std::vector<std::string>& dirs) {
  for (int signal : {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE}) ::signal(signal, SIG_IGN);
  ::prctl(PR_SET_NAME, "lambent-watchdog");
  // Which directories were the daemon's: should one be gone and made again by the time the
  // daemon is (a new daemon that got the same pid), it is not ours to remove.
  std::vector<struct stat> identities(dirs.size());
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (::stat(dirs[i].c_str(), &identities[i]) != 0) identities[i].st_ino = 0;
  }
  char byte;
  ssize_t n;
  do {
    n = ::read(lifeline, &byte, 1);
  } while (n > 0 || (n < 0 && errno == EINTR));
  ::close(lifeline);
  // Environments die with the daemon (their parent-death signal), so their groups empty
  // within milliseconds; the timeout only bounds a stuck kernel.
  int status = 0;
  for (size_t i = 0; i < dirs.size(); ++i) {
    const std::string& dir = dirs[i];
    struct stat now;
    if (::stat(dir.c_str(), &now) != 0 || now.st_ino != identities[i].st_ino || now.st_dev != identities[i].st_dev) {
      continue;
    }
    if (!RemoveCgroupTree(dir, std::chrono::seconds(10))) {
      std::fprintf(stderr, "lambent-watchdog: cgroup %s still busy after 10 s; the next daemon removes it\n",
                   dir.c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace lambent::init
