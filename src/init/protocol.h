#pragma once

#include <cstdint>
#include <optional>

#include "base/error.h"
#include "base/fd.h"

// The control protocol between the daemon and lambent-init, over one SOCK_SEQPACKET
// socketpair that init inherits as fd 3. Each datagram is one fixed-size Message; a
// kConnection message carries the runtime's accepted socket as SCM_RIGHTS.
namespace lambent::init {

constexpr int kControlFd = 3;

enum class MessageType : uint32_t {
  kReady = 1,        // init -> daemon: value = Runtime API port, pid = runtime pid, timeline set
  kConnection = 2,   // init -> daemon: an accepted runtime connection (fd attached)
  kExited = 3,       // init -> daemon: value = runtime's wait status, pid = runtime pid
  kSpawnFailed = 4,  // init -> daemon: value = errno of the runtime's execve
  // A prestarted environment (init --prestarted) is given its function:
  // daemon -> init: the code as a detached mount (fd attached), value = /tmp MiB; a second fd,
  // when attached, is the disk-backed /tmp to mount instead of resizing the tmpfs
  kAssign = 5,
  kAssigned = 6,  // init -> daemon: value = 0, or the errno of the step that failed
  // daemon -> init (--tmp-mount), before init sets up the sandbox: /tmp as a detached mount
  kTmpMount = 7,
};

// When init reached each step of its start, on CLOCK_MONOTONIC (which every namespace
// shares with the daemon): the daemon's cold-start breakdown.
struct InitTimeline {
  int64_t started_ns = 0;          // init's main() entered
  int64_t sandboxed_ns = 0;        // root file system, limits, capabilities and seccomp in place
  int64_t runtime_started_ns = 0;  // the runtime's execve succeeded
};

struct Message {
  MessageType type;
  int32_t value = 0;
  int32_t pid = 0;
  int32_t reserved = 0;  // keeps the datagram free of uninitialised padding
  InitTimeline timeline{};  // kReady only
};

// CLOCK_MONOTONIC now, in nanoseconds.
int64_t MonotonicNs();

struct Received {
  Message message;
  Fd fd;         // set for kConnection, kAssign, kTmpMount
  Fd second_fd;  // kAssign's /tmp, when it has one
};

// Sends one message, with `fd` (and `second_fd`) attached when >= 0. Blocking unless the
// socket is not.
Result<void> Send(int socket, const Message& message, int fd = -1, int second_fd = -1);
// Receives one message. nullopt on orderly EOF (the peer closed); kSystem with EAGAIN on a
// non-blocking socket with nothing to read; kInvalidArgument on a malformed datagram.
Result<std::optional<Received>> Receive(int socket);

}  // namespace lambent::init
