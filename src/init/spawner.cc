#include "init/spawner.h"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace lambent::init {
namespace {

constexpr size_t kMaxRequestBytes = 256 * 1024;  // Lambda caps environment variables at 4 KB
constexpr size_t kMaxFds = kChildFdCount + 1 + 8;

struct Header {
  uint64_t flags;
  int32_t has_cgroup_fd;
  int32_t self_task_count;
  int32_t argc;
  int32_t envc;
};

struct Reply {
  int32_t pid;
  int32_t error;
  int32_t joined_cgroup;
  int32_t reserved;
};

// Reads `count` NUL-terminated strings from `bytes` at `*pos`.
bool TakeStrings(std::string_view bytes, size_t* pos, int32_t count, std::vector<std::string>* out) {
  if (count < 0) return false;
  for (int32_t i = 0; i < count; ++i) {
    size_t end = bytes.find('\0', *pos);
    if (end == std::string_view::npos) return false;
    out->emplace_back(bytes.substr(*pos, end - *pos));
    *pos = end + 1;
  }
  return true;
}

Reply Spawn(const SpawnRequest& request) {
  std::vector<char*> argv, envp;
  ChildPlan plan = PlanChild(request, argv, envp);
  bool joined = false;
  pid_t pid = CloneSandboxed(request.flags | CLONE_PARENT, request.cgroup_fd, &joined);
  if (pid == 0) RunSandboxChild(plan);
  if (pid < 0) return {-1, errno, 0, 0};
  return {pid, 0, joined ? 1 : 0, 0};
}

}  // namespace

ChildPlan PlanChild(const SpawnRequest& request, std::vector<char*>& argv, std::vector<char*>& envp) {
  argv.clear();
  for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  envp.clear();
  for (const auto& e : request.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ChildPlan plan;
  std::memcpy(plan.fds, request.fds, sizeof(plan.fds));
  plan.self_tasks = request.self_tasks.data();
  plan.self_task_count = int(request.self_tasks.size());
  plan.argv = argv.data();
  plan.envp = envp.data();
  return plan;
}

std::vector<int> SpawnRequestFds(const SpawnRequest& request) {
  std::vector<int> fds(request.fds, request.fds + kChildFdCount);
  if (request.cgroup_fd >= 0) fds.push_back(request.cgroup_fd);
  fds.insert(fds.end(), request.self_tasks.begin(), request.self_tasks.end());
  return fds;
}

std::string EncodeSpawnRequest(const SpawnRequest& request) {
  Header header{request.flags, request.cgroup_fd >= 0 ? 1 : 0, int32_t(request.self_tasks.size()),
                int32_t(request.argv.size()), int32_t(request.envp.size())};
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
  for (const auto* list : {&request.argv, &request.envp}) {
    for (const auto& s : *list) {
      bytes.append(s);
      bytes.push_back('\0');
    }
  }
  return bytes;
}

bool DecodeSpawnRequest(std::string_view bytes, const std::vector<int>& fds, SpawnRequest* out) {
  Header header;
  if (bytes.size() < sizeof(header)) return false;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.self_task_count < 0 || header.has_cgroup_fd < 0 || header.has_cgroup_fd > 1) return false;
  size_t expected = kChildFdCount + size_t(header.has_cgroup_fd) + size_t(header.self_task_count);
  if (fds.size() != expected) return false;
  out->flags = header.flags;
  std::copy(fds.begin(), fds.begin() + kChildFdCount, out->fds);
  auto next = fds.begin() + kChildFdCount;
  out->cgroup_fd = header.has_cgroup_fd ? *next++ : -1;
  out->self_tasks.assign(next, fds.end());
  size_t pos = sizeof(header);
  out->argv.clear();
  out->envp.clear();
  return TakeStrings(bytes, &pos, header.argc, &out->argv) && TakeStrings(bytes, &pos, header.envc, &out->envp) &&
         pos == bytes.size() && !out->argv.empty();
}

Result<SpawnResult> RequestSpawn(int socket, const SpawnRequest& request) {
  std::string bytes = EncodeSpawnRequest(request);
  std::vector<int> fds = SpawnRequestFds(request);
  if (bytes.size() > kMaxRequestBytes || fds.size() > kMaxFds) {
    return tl::unexpected(Error::Invalid("environment too large for the spawner"));
  }
  struct iovec iov {
    bytes.data(), bytes.size()
  };
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return tl::unexpected(Error::System("sendmsg", "spawner", errno));
  Reply reply{};
  do {
    n = ::recv(socket, &reply, sizeof(reply), 0);
  } while (n < 0 && errno == EINTR);
  if (n != ssize_t(sizeof(reply))) {
    // No answer in time, or a broken one: a late reply would be taken for the next
    // request's, so the spawner is done for (it exits when the socket closes).
    int e = n < 0 ? errno : EPIPE;
    ::shutdown(socket, SHUT_RDWR);
    return tl::unexpected(Error::System("recv", "spawner", e));
  }
  if (reply.pid < 0) return tl::unexpected(Error::System("clone", "spawner", reply.error));
  return SpawnResult{reply.pid, reply.joined_cgroup != 0};
}

int ReceiveSpawnRequest(int socket, std::string& buffer, SpawnRequest* out) {
  buffer.resize(kMaxRequestBytes);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  for (;;) {
    struct iovec iov {
      buffer.data(), buffer.size()
    };
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the daemon is gone
    std::vector<int> fds;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.push_back(fd);
      }
    }
    if (!(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
        DecodeSpawnRequest(std::string_view(buffer.data(), size_t(n)), fds, out)) {
      return 1;
    }
    for (int fd : fds) ::close(fd);
    return -1;
  }
}

void CloseSpawnRequest(SpawnRequest& request) {
  for (int fd : SpawnRequestFds(request)) ::close(fd);
  request = SpawnRequest{};
}

bool SendSpawnReply(int socket, pid_t pid, int error, bool joined_cgroup) {
  Reply reply{pid, error, joined_cgroup ? 1 : 0, 0};
  return ::send(socket, &reply, sizeof(reply), MSG_NOSIGNAL) == ssize_t(sizeof(reply));
}

int RunSpawner(int socket) {
  std::string buffer;
  for (;;) {
    SpawnRequest request;
    int received = ReceiveSpawnRequest(socket, buffer, &request);
    if (received == 0) return 0;
    Reply reply{-1, EINVAL, 0, 0};
    if (received > 0) {
      reply = Spawn(request);
      CloseSpawnRequest(request);
    }
    if (!SendSpawnReply(socket, reply.pid, reply.error, reply.joined_cgroup != 0)) return 1;
  }
}

}  // namespace lambent::init
