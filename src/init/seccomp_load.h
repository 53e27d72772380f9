#pragma once

namespace lambent::init {

// Installs the classic-BPF seccomp program stored in `fd` (as the daemon compiled it) on the
// calling thread, after setting no_new_privs. Returns 0 or an errno. Async-signal-safe
// enough for a fresh child: no allocation beyond one buffer on the stack/heap up front.
int LoadSeccompFilter(int fd);

}  // namespace lambent::init
