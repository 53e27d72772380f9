#pragma once

namespace lambent::sandbox {

// In a child just forked from the daemon: executes lambent-init (the O_PATH descriptor
// `init_fd`) with `argv`, stdin and stdout on /dev/null, stderr kept (the daemon's log),
// `control_fd` as init's control descriptor, no signal blocked and no other descriptor
// inherited. Only system calls, as befits a fork of a threaded process. Never returns:
// exits 126 when a descriptor cannot be set up, 127 when the execve fails.
[[noreturn]] void ExecInitInChild(int init_fd, int control_fd, char* const argv[]);

}  // namespace lambent::sandbox
