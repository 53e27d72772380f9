// Streamed request bodies (Handler::StreamBody) and streamed responses (Responder::Stream)
// over a real loopback connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "base/fd.h"
#include "http/server.h"

namespace lambent::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// "/sink": the body streams into `pieces`; "/stream": answered with a streamed response the
// test drives through `writer`; anything else: echoed whole.
class StreamingHandler : public Handler {
 public:
  uint64_t BodyLimit(const RequestHeader&) const override { return 1 << 20; }
  Response Reject(const RequestHeader&, uint64_t) override { return MakeResponse(413, "{}"); }
  BodyPieceSink StreamBody(const RequestHeader& header) override {
    if (header.target() != "/sink") return nullptr;
    return [this](std::string_view piece) {
      std::lock_guard lock(mutex_);
      pieces_.emplace_back(piece);
      changed_.notify_all();
    };
  }
  void Handle(Request request, Responder respond) override {
    if (request.target() == "/stream") {
      ResponseHeader header;
      header.result(201);
      header.set("X-Kind", "streamed");
      header.set("X-Bad", "a\r\nInjected: yes");
      std::lock_guard lock(mutex_);
      writer_.emplace(respond.Stream(std::move(header)));
      changed_.notify_all();
      return;
    }
    std::string trailer(request["X-Trailer"]);
    respond(MakeResponse(200, request.body() + "|" + trailer, "text/plain"));
  }

  // Waits until `ready` holds (under the lock); false on timeout.
  template <typename Predicate>
  bool WaitFor(Predicate ready) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return ready(); });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> pieces_;
  std::optional<StreamWriter> writer_;
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.session.write_timeout = 2s;
    server_.emplace(io_, handler_, options);
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    {
      std::lock_guard lock(handler_.mutex_);
      handler_.writer_.reset();
    }
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
    timeval tv{0, 200000};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void Send(const Fd& fd, std::string_view data) {
    ASSERT_EQ(::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size()));
  }
  // Reads into `got` until it contains `what` (true), the peer closes or 5 s pass (false).
  static bool ReadUntil(const Fd& fd, std::string& got, std::string_view what, bool* closed = nullptr) {
    auto deadline = Clock::now() + 5s;
    char buf[4096];
    while (got.find(what) == std::string::npos && Clock::now() < deadline) {
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) got.append(buf, size_t(n));
      if (n == 0) {
        if (closed) *closed = true;
        break;
      }
    }
    return got.find(what) != std::string::npos;
  }
  void WithWriter(const std::function<void(StreamWriter&)>& use) {
    ASSERT_TRUE(handler_.WaitFor([&] { return handler_.writer_.has_value(); }));
    std::lock_guard lock(handler_.mutex_);
    use(*handler_.writer_);
  }

  boost::asio::io_context io_;
  StreamingHandler handler_;
  std::optional<Server> server_;
  std::thread thread_;
};

TEST_F(StreamTest, AChunkedBodyReachesTheSinkPieceByPieceAndHandleSeesItsTrailers) {
  auto fd = Connect();
  Send(fd, "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n5\r\nfirst\r\n");
  // The first piece arrives while the body is still open.
  ASSERT_TRUE(handler_.WaitFor([&] { return !handler_.pieces_.empty(); }));
  EXPECT_EQ(handler_.pieces_[0], "first");
  Send(fd, "6\r\nsecond\r\n0\r\nX-Trailer: done\r\n\r\n");
  std::string got;
  ASSERT_TRUE(ReadUntil(fd, got, "|done")) << got;
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got;
  // The body went to the sink, not into the request.
  EXPECT_NE(got.find("\r\n\r\n|done"), std::string::npos) << got;
  std::lock_guard lock(handler_.mutex_);
  ASSERT_EQ(handler_.pieces_.size(), 2u);
  EXPECT_EQ(handler_.pieces_[1], "second");
}

TEST_F(StreamTest, AContentLengthBodyIsReadWholeEvenOnAStreamingRoute) {
  auto fd = Connect();
  Send(fd, "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nwhole");
  std::string got;
  ASSERT_TRUE(ReadUntil(fd, got, "whole|")) << got;
  std::lock_guard lock(handler_.mutex_);
  EXPECT_TRUE(handler_.pieces_.empty());
}

TEST_F(StreamTest, AStreamedResponseSendsEachPieceAsItIsWrittenThenServesTheNextRequest) {
  auto fd = Connect();
  Send(fd, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
  WithWriter([](StreamWriter& writer) { writer.Write("hello "); });
  std::string got;
  ASSERT_TRUE(ReadUntil(fd, got, "6\r\nhello \r\n")) << got;
  EXPECT_TRUE(got.starts_with("HTTP/1.1 201 Created\r\n")) << got;
  EXPECT_NE(got.find("X-Kind: streamed\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Injected"), std::string::npos) << got;
  WithWriter([](StreamWriter& writer) {
    writer.Write("");  // ignored: an empty chunk would end the body
    writer.Write("world");
    writer.End();
  });
  ASSERT_TRUE(ReadUntil(fd, got, "5\r\nworld\r\n0\r\n\r\n")) << got;
  // Keep-alive: the same connection answers again.
  Send(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  std::string again;
  ASSERT_TRUE(ReadUntil(fd, again, "ok|")) << again;
}

TEST_F(StreamTest, AnAbortedStreamClosesWithoutTheLastChunk) {
  auto fd = Connect();
  Send(fd, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
  WithWriter([](StreamWriter& writer) {
    writer.Write("partial");
    writer.Abort();
  });
  std::string got;
  bool closed = false;
  ReadUntil(fd, got, "never", &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("7\r\npartial\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << got;
}

TEST_F(StreamTest, AnHttp10ClientGetsTheRawBodyEndedByTheClose) {
  auto fd = Connect();
  Send(fd, "GET /stream HTTP/1.0\r\nHost: a\r\n\r\n");
  WithWriter([](StreamWriter& writer) {
    writer.Write("raw body");
    writer.End();
  });
  std::string got;
  bool closed = false;
  ReadUntil(fd, got, "never", &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("chunked"), std::string::npos) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\nraw body")) << got;
}

TEST_F(StreamTest, AHeadRequestGetsTheStreamedHeaderWithoutABody) {
  auto fd = Connect();
  Send(fd, "HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\n");
  WithWriter([](StreamWriter& writer) {
    writer.Write("never sent");
    writer.End();
  });
  std::string got;
  ASSERT_TRUE(ReadUntil(fd, got, "\r\n\r\n")) << got;
  Send(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(ReadUntil(fd, got, "ok|")) << got;
  EXPECT_TRUE(got.starts_with("HTTP/1.1 201")) << got;
  EXPECT_EQ(got.find("never sent"), std::string::npos) << got;
}

TEST_F(StreamTest, WritesToAClientThatLeftAreDropped) {
  {
    auto fd = Connect();
    Send(fd, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(handler_.WaitFor([&] { return handler_.writer_.has_value(); }));
  }
  for (int i = 0; i < 200; ++i) {
    WithWriter([](StreamWriter& writer) { writer.Write(std::string(4096, 'x')); });
  }
  WithWriter([](StreamWriter& writer) { writer.End(); });
  // The server still serves.
  auto fd = Connect();
  Send(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  std::string got;
  EXPECT_TRUE(ReadUntil(fd, got, "ok|")) << got;
}

}  // namespace
}  // namespace lambent::http
