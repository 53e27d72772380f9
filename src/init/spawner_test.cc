#include "init/spawner.h"

#include <sched.h>

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
