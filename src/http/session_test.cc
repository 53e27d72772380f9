#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/fd.h"
#include "http/server.h"

namespace lambent::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Echoes the body; "/park" keeps the responder and answers only when told to.
class EchoHandler : public Handler {
 public:
  uint64_t BodyLimit(const RequestHeader&) const override { return 1 << 20; }
  Response Reject(const RequestHeader&, uint64_t) override { return MakeResponse(413, "{}"); }
  void Handle(Request request, Responder respond) override {
    if (request.target() == "/park") {
      std::lock_guard lock(mutex_);
      parked_.emplace(std::move(respond));
      return;
    }
    respond(MakeResponse(200, request.body(), "text/plain"));
  }
  void AnswerParked() {
    std::lock_guard lock(mutex_);
    if (parked_) (*parked_)(MakeResponse(200, "late", "text/plain"));
    parked_.reset();
  }

 private:
  std::mutex mutex_;
  std::optional<Responder> parked_;
};

class SessionTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options) {
    server_.emplace(io_, handler_, std::move(options));
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { server_->Stop(); });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Fd Connect() {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  static void Send(const Fd& fd, std::string_view data) {
    ASSERT_EQ(::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size()));
  }
  // What the server sends until it closes, or until `timeout` passes (closed = false).
  struct Received {
    std::string data;
    bool closed = false;
  };
  static Received ReadUntilClosed(const Fd& fd, std::chrono::milliseconds timeout) {
    Received got;
    auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      timeval tv{left.count() / 1000000, left.count() % 1000000};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        got.data.append(buf, size_t(n));
        continue;
      }
      got.closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      if (got.closed) break;
    }
    return got;
  }

  static ServerOptions Short() {
    ServerOptions options;
    options.session.header_timeout = 300ms;
    options.session.body_timeout = 300ms;
    options.session.idle_timeout = 500ms;
    options.session.write_timeout = 300ms;
    return options;
  }

  boost::asio::io_context io_;
  EchoHandler handler_;
  std::optional<Server> server_;
  std::thread thread_;
};

TEST_F(SessionTest, AnswersAMalformedRequestLineWith400AndAnErrorBody) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "GET /x HTTP/9.9\r\nHost: a\r\n\r\n");
  auto got = ReadUntilClosed(fd, 2s);
  EXPECT_TRUE(got.closed);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 400")) << got.data;
  EXPECT_NE(got.data.find("\"message\""), std::string::npos) << got.data;
  EXPECT_NE(got.data.find("x-amzn-ErrorType: InvalidRequestContentException"), std::string::npos);
}

TEST_F(SessionTest, AnswersABadHeaderWith400) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: twelve\r\n\r\n");
  auto got = ReadUntilClosed(fd, 2s);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 400")) << got.data;
}

TEST_F(SessionTest, RefusesAnUnsupportedTransferCodingWith501) {
  Start(Short());
  for (const char* coding : {"gzip", "gzip, chunked"}) {
    auto fd = Connect();
    Send(fd, std::string("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + coding +
                 "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    auto got = ReadUntilClosed(fd, 2s);
    EXPECT_TRUE(got.data.starts_with("HTTP/1.1 501")) << coding << ": " << got.data;
    EXPECT_TRUE(got.closed);
  }
}

TEST_F(SessionTest, ServesAChunkedBody) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  auto got = ReadUntilClosed(fd, 200ms);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 200")) << got.data;
  EXPECT_TRUE(got.data.ends_with("hello"));
}

TEST_F(SessionTest, ClosesAConnectionWhoseHeaderTricklesPastTheHeaderTimeout) {
  Start(Short());
  auto fd = Connect();
  auto begin = Clock::now();
  // One byte every 100 ms keeps the connection from ever being idle, never completing.
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    if (::send(fd.get(), "X", 1, MSG_NOSIGNAL) != 1) break;
    closed = ReadUntilClosed(fd, 100ms).closed;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - begin, 1500ms);
}

TEST_F(SessionTest, ClosesAStalledBody) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly some");
  auto got = ReadUntilClosed(fd, 2s);
  EXPECT_TRUE(got.closed);
  EXPECT_EQ(got.data, "");
}

TEST_F(SessionTest, ClosesAnIdleKeepAliveConnectionAfterItsLastAnswer) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  auto begin = Clock::now();
  auto got = ReadUntilClosed(fd, 3s);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(got.closed);
  EXPECT_GT(Clock::now() - begin, 400ms);
  EXPECT_LT(Clock::now() - begin, 2s);
}

TEST_F(SessionTest, NeverTimesOutARequestBeingHandled) {
  Start(Short());
  auto fd = Connect();
  Send(fd, "GET /park HTTP/1.1\r\nHost: a\r\n\r\n");
  // Longer than every timeout: a parked long poll is not a slow client.
  auto got = ReadUntilClosed(fd, 1200ms);
  EXPECT_FALSE(got.closed);
  EXPECT_EQ(got.data, "");
  handler_.AnswerParked();
  got = ReadUntilClosed(fd, 200ms);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 200")) << got.data;
  EXPECT_TRUE(got.data.ends_with("late"));
}

TEST_F(SessionTest, WithoutTimeoutsAnIdleConnectionStaysOpen) {
  ServerOptions options;
  options.session = SessionOptions{};
  Start(options);
  auto fd = Connect();
  Send(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  auto got = ReadUntilClosed(fd, 800ms);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 200"));
  EXPECT_FALSE(got.closed);
}

TEST_F(SessionTest, RefusesConnectionsPastTheCapWith503AndServesAgainOnceBelowIt) {
  auto options = Short();
  options.max_connections = 2;
  Start(options);
  auto first = Connect();
  auto second = Connect();
  Send(first, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  Send(second, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(ReadUntilClosed(first, 100ms).data.starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(ReadUntilClosed(second, 100ms).data.starts_with("HTTP/1.1 200"));
  auto third = Connect();
  auto got = ReadUntilClosed(third, 1s);
  EXPECT_TRUE(got.data.starts_with("HTTP/1.1 503")) << got.data;
  EXPECT_TRUE(got.closed);
  first.reset();
  std::this_thread::sleep_for(100ms);
  auto fourth = Connect();
  Send(fourth, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(ReadUntilClosed(fourth, 300ms).data.starts_with("HTTP/1.1 200"));
}

TEST_F(SessionTest, DeliversASpooledBodyWhole) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("session_test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto spool = std::make_shared<BodySpool>(dir, BodySpool::Limits{16, 16, 1 << 20});
  auto options = Short();
  options.session.spool = spool;
  Start(options);
  auto fd = Connect();
  std::string body(100000, 'b');
  body[5] = 'x';
  Send(fd, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + body);
  auto got = ReadUntilClosed(fd, 300ms);
  EXPECT_TRUE(got.data.ends_with("\r\n\r\n" + body));
  EXPECT_EQ(spool->disk_in_use(), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lambent::http
