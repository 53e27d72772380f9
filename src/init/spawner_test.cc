#include "init/spawner.h"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

namespace lambent::init {
namespace {

SpawnRequest Sample() {
  SpawnRequest request;
  request.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
  for (int i = 0; i < kChildFdCount; ++i) request.fds[i] = 10 + i;
  request.self_tasks = {30, 31, 32};
  request.argv = {"/bin/lambent-init", "--sandbox", "--", "/var/task/bootstrap"};
  request.envp = {"A=1", "EMPTY=", "UTF8=\xc3\xa9t\xc3\xa9"};
  return request;
}

TEST(SpawnerWireFormat, CarriesTheWholeRequest) {
  SpawnRequest sent = Sample();
  SpawnRequest got;
  ASSERT_TRUE(DecodeSpawnRequest(EncodeSpawnRequest(sent), SpawnRequestFds(sent), &got));
  EXPECT_EQ(got.flags, sent.flags);
  EXPECT_EQ(std::vector<int>(got.fds, got.fds + kChildFdCount), std::vector<int>(sent.fds, sent.fds + kChildFdCount));
  EXPECT_EQ(got.cgroup_fd, -1);
  EXPECT_EQ(got.self_tasks, sent.self_tasks);
  EXPECT_EQ(got.argv, sent.argv);
  EXPECT_EQ(got.envp, sent.envp);
}

TEST(SpawnerWireFormat, CarriesACgroupDirectoryForV2) {
  SpawnRequest sent = Sample();
  sent.self_tasks.clear();
  sent.cgroup_fd = 40;
  SpawnRequest got;
  ASSERT_TRUE(DecodeSpawnRequest(EncodeSpawnRequest(sent), SpawnRequestFds(sent), &got));
  EXPECT_EQ(got.cgroup_fd, 40);
  EXPECT_TRUE(got.self_tasks.empty());
}

TEST(SpawnerWireFormat, RefusesWhatDoesNotAddUp) {
  SpawnRequest sent = Sample();
  std::string bytes = EncodeSpawnRequest(sent);
  std::vector<int> fds = SpawnRequestFds(sent);
  SpawnRequest got;
  EXPECT_FALSE(DecodeSpawnRequest(bytes.substr(0, 10), fds, &got));                 // truncated header
  EXPECT_FALSE(DecodeSpawnRequest(bytes.substr(0, bytes.size() - 1), fds, &got));    // unterminated string
  EXPECT_FALSE(DecodeSpawnRequest(bytes + "x", fds, &got));                           // trailing bytes
  EXPECT_FALSE(DecodeSpawnRequest(bytes, std::vector<int>(fds.begin(), fds.end() - 1), &got));  // a descriptor short
  sent.argv.clear();
  EXPECT_FALSE(DecodeSpawnRequest(EncodeSpawnRequest(sent), fds, &got));              // nothing to execute
}

}  // namespace
}  // namespace lambent::init

namespace lambent::init {
namespace {

// The serving side's steps the spawner and the python zygote share, over a real socket pair.
TEST(SpawnerServing, ReceivesARequestWithItsDescriptorsAndAnswersIt) {
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets), 0);
  SpawnRequest sent = Sample();
  sent.self_tasks.clear();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  for (int i = 0; i < kChildFdCount; ++i) sent.fds[i] = pipe_fds[1];
  std::string bytes = EncodeSpawnRequest(sent);
  std::vector<int> fds = SpawnRequestFds(sent);
  // What RequestSpawn sends, without waiting for its reply on this thread.
  struct iovec iov {bytes.data(), bytes.size()};
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
  ASSERT_EQ(::sendmsg(sockets[0], &msg, 0), ssize_t(bytes.size()));

  std::string buffer;
  SpawnRequest got;
  ASSERT_EQ(ReceiveSpawnRequest(sockets[1], buffer, &got), 1);
  EXPECT_EQ(got.argv, sent.argv);
  EXPECT_EQ(got.envp, sent.envp);
  // Received descriptors are new ones, owned by the request until closed.
  EXPECT_NE(got.fds[0], pipe_fds[1]);
  EXPECT_EQ(::write(got.fds[kChildOutput], "x", 1), 1);
  CloseSpawnRequest(got);
  ::close(pipe_fds[1]);
  char c;
  EXPECT_EQ(::read(pipe_fds[0], &c, 1), 1);
  EXPECT_EQ(::read(pipe_fds[0], &c, 1), 0) << "a received descriptor was left open";
  ::close(pipe_fds[0]);

  ASSERT_TRUE(SendSpawnReply(sockets[1], 1234, 0, true));
  int32_t reply[4];
  ASSERT_EQ(::recv(sockets[0], reply, sizeof(reply), 0), ssize_t(sizeof(reply)));
  EXPECT_EQ(reply[0], 1234);
  EXPECT_EQ(reply[2], 1);

  // A malformed datagram is refused; the daemon's end closing is the end.
  ASSERT_EQ(::send(sockets[0], "junk", 4, 0), 4);
  EXPECT_EQ(ReceiveSpawnRequest(sockets[1], buffer, &got), -1);
  ::close(sockets[0]);
  EXPECT_EQ(ReceiveSpawnRequest(sockets[1], buffer, &got), 0);
  ::close(sockets[1]);
}

}  // namespace
}  // namespace lambent::init
