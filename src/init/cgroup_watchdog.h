#pragma once

#include <chrono>
#include <string>
#include <vector>

// The cgroup watchdog: a small process (`lambent-init --cgroup-watchdog DIR...`) that the
// daemon starts once and that outlives it. It holds the read end of a pipe whose write end
// only the daemon holds (close-on-exec, so no environment inherits it): end-of-file on it
// means the daemon is gone, however it ended, SIGKILL included. Then it removes the
// daemon's cgroup directories, which only the daemon's environments used and which a
// daemon that was killed could not remove itself.
namespace lambent::init {

// Removes the cgroup directory `dir` with every group below it, deepest first: each is
// thawed (v1 freezer.state, v2 cgroup.freeze), what runs in it is killed (cgroup.kill, or
// SIGKILL for each pid in cgroup.procs), and it is removed once empty. Tries again until
// `timeout` has passed. True when `dir` is gone (or never existed).
bool RemoveCgroupTree(const std::string& dir, std::chrono::milliseconds timeout);

// The watchdog's main: waits until `lifeline` reads end-of-file, then removes each of
// `dirs` (RemoveCgroupTree). Ignores the signals a terminal or a service manager sends a
// whole group (the daemon's orderly stop would end it halfway). Returns the exit code.
int RunCgroupWatchdog(int lifeline, const std::vector<std::string>& dirs);

}  // namespace lambent::init
