#include "init/protocol.h"

#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace lambent::init {

int64_t MonotonicNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Result<void> Send(int socket, const Message& message, int fd) {
  struct iovec iov {
    const_cast<Message*>(&message), sizeof(message)
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return tl::unexpected(Error::System("sendmsg", "control socket", errno));
  return Ok();
}

Result<std::optional<Received>> Receive(int socket) {
  Received received{};
  struct iovec iov {
    &received.message, sizeof(received.message)
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return tl::unexpected(Error::System("recvmsg", "control socket", errno));
  if (n == 0) return std::nullopt;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
      received.fd.reset(fd);
    }
  }
  if (size_t(n) != sizeof(Message) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    return tl::unexpected(Error::Invalid("malformed control message"));
  }
  return std::optional<Received>(std::move(received));
}

}  // namespace lambent::init
