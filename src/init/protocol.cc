#include "init/protocol.h"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lambent::init {

int64_t MonotonicNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Result<void> Send(int socket, const Message& message, int fd, int second_fd) {
  struct iovec iov {
    const_cast<Message*>(&message), sizeof(message)
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  int fds[2] = {fd, second_fd};
  size_t count = fd < 0 ? 0 : second_fd < 0 ? 1 : 2;
  if (count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
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
  alignas(struct cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
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
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int fds[2] = {-1, -1};
      std::memcpy(fds, CMSG_DATA(cmsg), std::min<size_t>(count, 2) * sizeof(int));
      // Each received descriptor is owned from here, even where the message is malformed.
      if (count >= 1) received.fd.reset(fds[0]);
      if (count >= 2) received.second_fd.reset(fds[1]);
    }
  }
  if (size_t(n) != sizeof(Message) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    return tl::unexpected(Error::Invalid("malformed control message"));
  }
  return std::optional<Received>(std::move(received));
}

}  // namespace lambent::init
