// liblambent-zygote.so: what the python zygote (src/runtimes/python/zygote.py) calls through
// ctypes. The zygote is a python interpreter with lambent's runtime client imported that
// serves the spawner's protocol (init/spawner.h): each environment it clones becomes its
// lambent-init as any other, but first forks the runtime from the interpreter it already is,
// so the runtime skips the interpreter's start and its imports. See docs/architecture.md,
// "Zygotes", for how the forked runtime is isolated and what it inherits.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "init/init_process.h"
#include "init/protocol.h"
#include "init/sandbox_child.h"
#include "init/sandbox_setup.h"
#include "init/spawner.h"

namespace lambent::init {
namespace {

// The request being served: received by lambent_zygote_next, spawned by lambent_zygote_spawn.
// Never destroyed: the runtime unloads this library (dlclose runs its destructors) while its
// `environ` still points into the request's strings.
SpawnRequest& pending = *new SpawnRequest;
bool has_pending = false;
std::string& buffer = *new std::string;
// The pending request's environment as execve takes it; the forked runtime's `environ`.
std::vector<char*>& pending_envp = *new std::vector<char*>;

constexpr size_t kMaxArgs = 256;

// What /proc/PID/cmdline and /proc/PID/environ show of a runtime (ps, tools that find an
// environment's processes by a variable) is read from the process's memory between bounds
// the kernel set at the zygote's execve; moving them takes CAP_SYS_RESOURCE, which a
// container's root may lack. So the zygote is started with room to spare in both (a long
// last argument, a long variable), and each runtime writes over its copy the command init
// would have started and its environment, padded with NULs.
struct Shown {
  char* start = nullptr;
  size_t size = 0;
};
Shown shown_args, shown_environ;

void FindShownAreas() {
  FILE* stat = std::fopen("/proc/self/stat", "r");
  if (!stat) return;
  char line[4096];
  bool read = std::fgets(line, sizeof(line), stat) != nullptr;
  std::fclose(stat);
  const char* p = read ? std::strrchr(line, ')') : nullptr;
  // Fields 48-51 (proc(5)): arg_start arg_end env_start env_end.
  unsigned long fields[52] = {};
  for (int field = 3; p && field <= 51; ++field) {
    p = std::strchr(p + 1, ' ');
    if (p) fields[field] = std::strtoul(p + 1, nullptr, 10);
  }
  if (fields[48] && fields[49] > fields[48]) shown_args = {reinterpret_cast<char*>(fields[48]), fields[49] - fields[48]};
  if (fields[50] && fields[51] > fields[50]) shown_environ = {reinterpret_cast<char*>(fields[50]), fields[51] - fields[50]};
}

// Writes `strings` NUL-separated over `area`, as many whole ones as fit, NULs after.
template <typename Strings>
void WriteShown(const Shown& area, const Strings& strings) {
  if (!area.start) return;
  size_t used = 0;
  for (const auto& s : strings) {
    size_t length = std::strlen(s);
    if (used + length + 1 > area.size) break;
    std::memcpy(area.start + used, s, length + 1);
    used += length + 1;
  }
  std::memset(area.start + used, 0, area.size - used);
}

// The runtime's half, in the forked copy: waits until init has finished the sandbox around
// it, then takes the runtime's place in it exactly as init's own StartRuntime child would,
// without its execve. Returns only when it may run as the runtime.
void BecomeRuntime(int go_fd, char* const* argv, char* const* envp) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // What init keeps to itself: the control socket, the trees it mounts, its own executable.
  ::close(kControlFd);
  ::close(kCodeDirFd);
  ::close(kRuntimesDirFd);
  ::close(8);
  char message[4096];
  ssize_t n;
  do {
    n = ::read(go_fd, message, sizeof(message) - 1);
  } while (n < 0 && errno == EINTR);
  ::close(go_fd);
  // EOF: init failed and is gone; the pid namespace ends with it anyway.
  if (n <= 0) _exit(1);
  message[n] = '\0';
  // "API\0CWD\0": where the Runtime API listens and the runtime's working directory.
  const char* api = message;
  size_t api_length = std::strlen(api);
  if (api_length + 1 >= size_t(n)) _exit(1);
  const char* cwd = api + api_length + 1;
  // init's pivot_root moved our root with its own; the working directory is ours to move.
  if (::chdir(cwd) != 0 && ::chdir("/") != 0) _exit(1);
  if (std::string failed = LockDown(); !failed.empty()) {
    std::fprintf(stderr, "lambent zygote: runtime lockdown failed: %s\n", failed.c_str());
    _exit(127);
  }
  // An execve would have made the runtime dumpable again after init's uid change; without
  // one, /proc/self would stay owned by the host's root and unreadable to the runtime.
  ::prctl(PR_SET_DUMPABLE, 1);
  // Python ignores SIGPIPE from its start; the clone's child reset it for init.
  ::signal(SIGPIPE, SIG_IGN);
  environ = const_cast<char**>(envp);
  ::setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
  // The command after init's "--", and the environment as the runtime has it now.
  std::vector<const char*> command;
  for (char* const* a = argv; *a; ++a) {
    if (!command.empty() || std::strcmp(*a, "--") == 0) command.push_back(*a);
  }
  if (!command.empty()) command.erase(command.begin());
  WriteShown(shown_args, command);
  std::vector<const char*> variables(environ, environ + [] {
    size_t n = 0;
    while (environ[n]) ++n;
    return n;
  }());
  WriteShown(shown_environ, variables);
}

// The clone's side. Becomes lambent-init (never returns) or, in the runtime it forks,
// returns to python.
void RunZygoteChild(const ChildPlan& plan) {
  EnterSandboxChild(plan);
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) _exit(126);
  pid_t runtime = pid_t(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (runtime < 0) _exit(126);
  if (runtime == 0) {
    ::close(go[1]);
    BecomeRuntime(go[0], plan.argv, plan.envp);
    return;
  }
  ::close(go[0]);
  // init finds the pipe at kAdoptFd, and the runtime's pid after --adopt.
  if (::dup2(go[1], kAdoptFd) < 0) _exit(126);
  char pid_text[16];
  std::snprintf(pid_text, sizeof(pid_text), "%d", int(runtime));
  const char* argv[kMaxArgs + 2];
  size_t argc = 0;
  for (char* const* a = plan.argv; *a && argc < kMaxArgs; ++a) {
    argv[argc++] = *a;
    if (argc == 2) argv[argc++] = pid_text;  // plan.argv[1] is "--adopt"
  }
  argv[argc] = nullptr;
  ::syscall(SYS_execveat, 8, "", argv, plan.envp, AT_EMPTY_PATH);
  _exit(127);
}

}  // namespace
}  // namespace lambent::init

extern "C" {

// Waits for the daemon's next request. 1: one is pending; 0: the daemon is gone; -1: a
// malformed one, already answered.
__attribute__((visibility("default"))) int lambent_zygote_next(int socket) {
  using namespace lambent::init;
  if (!shown_args.start) FindShownAreas();
  if (has_pending) CloseSpawnRequest(pending);
  has_pending = false;
  int received = ReceiveSpawnRequest(socket, buffer, &pending);
  if (received < 0) return SendSpawnReply(socket, -1, EINVAL, false) ? -1 : 0;
  if (received == 0) return 0;
  // The child execs init with --adopt PID: the daemon asked for an adopting init.
  if (pending.argv.size() < 2 || pending.argv[1] != "--adopt") {
    CloseSpawnRequest(pending);
    return SendSpawnReply(socket, -1, EINVAL, false) ? -1 : 0;
  }
  has_pending = true;
  return 1;
}

// Clones the pending request's environment. In the zygote: 0 once answered (-1: the daemon
// is gone). In the runtime the clone forks: 1, with its environment, descriptors, working
// directory and lockdown in place; python finishes the fork's bookkeeping.
__attribute__((visibility("default"))) int lambent_zygote_spawn(int socket) {
  using namespace lambent::init;
  if (!has_pending) return SendSpawnReply(socket, -1, EINVAL, false) ? 0 : -1;
  std::vector<char*> argv;
  ChildPlan plan = PlanChild(pending, argv, pending_envp);
  bool joined = false;
  pid_t pid = CloneSandboxed(pending.flags | CLONE_PARENT, pending.cgroup_fd, &joined);
  if (pid == 0) {
    RunZygoteChild(plan);
    // The runtime: its environment lives on in `pending` and `pending_envp`.
    return 1;
  }
  int error = pid < 0 ? errno : 0;
  CloseSpawnRequest(pending);
  has_pending = false;
  return SendSpawnReply(socket, pid, error, joined) ? 0 : -1;
}

}  // extern "C"
