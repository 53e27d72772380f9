#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>

#include "base/error.h"
#include "http/spool.h"

namespace lambent::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using RequestHeader = beast_http::request_header<>;
using ResponseHeader = beast_http::response_header<>;
// Takes a request body piece by piece as it arrives (see Handler::StreamBody).
using BodyPieceSink = std::function<void(std::string_view piece)>;

class Session;

// Writes one response while it is produced: the header first, then the body in pieces as
// they come, with chunked transfer coding (an HTTP/1.0 client gets the body raw and the
// connection closes after it). Move-only; callable from any thread. Destroying it before
// End() ends the response the way Abort() does.
class StreamWriter {
 public:
  explicit StreamWriter(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  StreamWriter(StreamWriter&&) noexcept = default;
  StreamWriter& operator=(StreamWriter&&) noexcept = default;
  ~StreamWriter();

  // Queues a piece of the body; an empty one is ignored (it would end a chunked body).
  void Write(std::string piece);
  // The body is complete: the last chunk, and the connection serves its next request.
  void End();
  // The body cannot be completed (the function failed midway): what is queued is sent and
  // the connection closes without the last chunk, so the client sees a truncated response
  // rather than a complete wrong one.
  void Abort();
  // True while the connection has not failed (a client that left makes writes no-ops).
  bool connected() const;

 private:
  std::shared_ptr<Session> session_;
};

// Writes the response to one request. Move-only; call it exactly once, from any thread (the
// write is dispatched onto the session's executor). Destroying it uncalled closes the
// connection, which is how a request whose answer can no longer come ends.
class Responder {
 public:
  explicit Responder(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  ~Responder();

  void operator()(Response response);
  // Answers with a response whose body follows in pieces; `header`'s status and fields are
  // sent as they are (the transfer coding and connection fields are set here).
  StreamWriter Stream(ResponseHeader header);
  // True while the connection this responder answers on has not failed.
  bool connected() const;
  // connected(), and the peer has not closed or reset its end meanwhile: asked of the
  // kernel now, for a request that has waited (a parked long poll) before it is answered
  // with something that must not be lost.
  bool peer_open() const;
  // The client's IP address ("127.0.0.1"); empty once the connection is gone.
  std::string peer_address() const;

 private:
  std::shared_ptr<Session> session_;
};

// What a connection serves. Called on the io thread; must not block.
class Handler {
 public:
  virtual ~Handler() = default;
  // The largest body accepted for a request with this header. A larger body gets `Reject`.
  virtual uint64_t BodyLimit(const RequestHeader& header) const = 0;
  // Answers a request whose body was over BodyLimit (the connection closes afterwards).
  virtual Response Reject(const RequestHeader& header, uint64_t limit) = 0;
  // Handles one complete request; `respond` may be called later, from any thread.
  virtual void Handle(Request request, Responder respond) = 0;
  // Where the body of a chunked request with this header goes as it arrives, instead of
  // into request.body(); unset (the default): the body is read whole. Asked once the header
  // is in. Handle() still follows the body's end, with an empty body and the trailer fields
  // among the header's. BodyLimit() still caps the whole body.
  virtual BodyPieceSink StreamBody(const RequestHeader& header);
  // Answers a request the session refuses itself before Handle (the connection closes
  // afterwards): 400 malformed, 431 header too large, 501 a transfer coding it does not
  // implement, 503 no room for the body. The default gives Lambda's error shape:
  // {"Type":..,"message":..} and an x-amzn-ErrorType header.
  virtual Response ProtocolError(unsigned status, std::string_view message);
};

// Limits of one connection. Every timeout is off when zero, which is the default: the
// Runtime API's sessions idle legitimately for minutes (a parked GET /next, a long
// invocation between requests). ServerOptions holds the public front's values.
struct SessionOptions {
  uint32_t header_limit = 64 * 1024;
  // From a request's first byte to the end of its header (slowloris).
  std::chrono::milliseconds header_timeout{0};
  // Longest wait for more of a body once its header is in.
  std::chrono::milliseconds body_timeout{0};
  // Longest wait for the first byte of a request, the first included (keep-alive idle).
  // A request being handled (however long) is not idle.
  std::chrono::milliseconds idle_timeout{0};
  // Longest a response being written may make no progress (a reader that stopped reading);
  // a slow reader that keeps taking bytes is never cut.
  std::chrono::milliseconds write_timeout{0};
  // Where large bodies go; null: bodies stay in memory. Shared: sessions may outlive the
  // server that made them (they end with the io_context).
  std::shared_ptr<BodySpool> spool;
  // Counts this session while its socket is open (the server's connection cap); may be null.
  std::shared_ptr<std::atomic<size_t>> open_count;
  // Where a spooled body is read back into memory (tens of milliseconds for a large upload):
  // a thread pool's executor, so the io thread never reads a spool file. Unset: on the
  // session's own executor.
  std::optional<boost::asio::any_io_executor> blocking;
};

// Serves HTTP/1.1 on one connected socket, one request at a time, keep-alive.
// `handler` must outlive the session. Returns a handle that can close the connection.
std::shared_ptr<Session> Serve(boost::asio::ip::tcp::socket socket, Handler& handler,
                               SessionOptions options = {});
// Closes the session's socket; pending reads and writes end with an error.
void Close(const std::shared_ptr<Session>& session);

struct ServerOptions {
  SessionOptions session{.header_timeout = std::chrono::seconds(10),
                         .body_timeout = std::chrono::seconds(30),
                         .idle_timeout = std::chrono::seconds(60),
                         .write_timeout = std::chrono::seconds(30)};
  // Connections open at once; one more is answered 503 and closed at once.
  size_t max_connections = 4096;
  // Pause of the accept loop when the process is out of descriptors (EMFILE): the pending
  // connection stays queued, and retrying at once would only spin.
  std::chrono::milliseconds accept_backoff{100};
};

// Accepts connections on an address and serves each with the same handler. Lives on one
// io_context; not thread-safe. `handler` must outlive the server.
class Server {
 public:
  Server(boost::asio::io_context& io, Handler& handler, ServerOptions options = {});
  // Binds and listens; port 0 picks a free port (see port()).
  Result<void> Listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  void Stop();
  // Connections open now.
  size_t connections() const { return *open_count_; }

 private:
  void Accept();
  void OnAccept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void Refuse(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  Handler& handler_;
  ServerOptions options_;
  std::shared_ptr<std::atomic<size_t>> open_count_;
  boost::asio::steady_timer backoff_;
  bool out_of_descriptors_ = false;  // logged once per episode
  std::chrono::steady_clock::time_point last_refusal_log_{};
};

// Response helpers.
Response MakeResponse(unsigned status, std::string body,
                      std::string_view content_type = "application/json");

}  // namespace lambent::http
