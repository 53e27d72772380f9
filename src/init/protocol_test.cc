#include "init/protocol.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace lambent::init {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  Fd a, b;
};

TEST(ControlProtocol, CarriesAMessageAndItsValues) {
  SocketPair pair;
  ASSERT_TRUE(Send(pair.a.get(), {MessageType::kReady, 9001, 42}));
  auto received = Receive(pair.b.get());
  ASSERT_TRUE(received);
  ASSERT_TRUE(*received);
  EXPECT_EQ((*received)->message.type, MessageType::kReady);
  EXPECT_EQ((*received)->message.value, 9001);
  EXPECT_EQ((*received)->message.pid, 42);
  EXPECT_FALSE((*received)->fd.valid());
}

TEST(ControlProtocol, HandsOverAWorkingDescriptor) {
  SocketPair pair;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ASSERT_TRUE(Send(pair.a.get(), {MessageType::kConnection}, write_end.get()));
  write_end.reset();  // only the passed copy remains

  auto received = Receive(pair.b.get());
  ASSERT_TRUE(received && *received);
  Fd passed = std::move((*received)->fd);
  ASSERT_TRUE(passed.valid());
  EXPECT_TRUE(::fcntl(passed.get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(::write(passed.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(ControlProtocol, AnAssignmentCarriesTheCodeAndTheTmpMountInOrder) {
  SocketPair pair;
  int code[2], tmp[2];
  ASSERT_EQ(::pipe(code), 0);
  ASSERT_EQ(::pipe(tmp), 0);
  Fd code_read(code[0]), code_write(code[1]), tmp_read(tmp[0]), tmp_write(tmp[1]);
  ASSERT_TRUE(Send(pair.a.get(), {MessageType::kAssign, 1024}, code_write.get(), tmp_write.get()));
  auto received = Receive(pair.b.get());
  ASSERT_TRUE(received && *received);
  EXPECT_EQ((*received)->message.value, 1024);
  ASSERT_TRUE((*received)->fd.valid());
  ASSERT_TRUE((*received)->second_fd.valid());
  ASSERT_EQ(::write((*received)->fd.get(), "c", 1), 1);
  ASSERT_EQ(::write((*received)->second_fd.get(), "t", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(code_read.get(), &c, 1), 1);
  EXPECT_EQ(c, 'c');
  ASSERT_EQ(::read(tmp_read.get(), &c, 1), 1);
  EXPECT_EQ(c, 't');
}

TEST(ControlProtocol, ReportsThePeerLeavingAsEndOfStream) {
  SocketPair pair;
  pair.a.reset();
  auto received = Receive(pair.b.get());
  ASSERT_TRUE(received);
  EXPECT_FALSE(*received);
}

TEST(ControlProtocol, RejectsADatagramOfTheWrongSize) {
  SocketPair pair;
  ASSERT_EQ(::send(pair.a.get(), "short", 5, 0), 5);
  auto received = Receive(pair.b.get());
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace lambent::init
