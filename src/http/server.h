#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "base/error.h"

namespace lambent::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using RequestHeader = beast_http::request_header<>;

class Session;

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
  // True while the connection this responder answers on has not failed.
  bool connected() const;

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
};

// Serves HTTP/1.1 on one connected socket, one request at a time, keep-alive.
// `handler` must outlive the session. Returns a handle that can close the connection.
struct SessionOptions {
  uint32_t header_limit = 64 * 1024;
};
std::shared_ptr<Session> Serve(boost::asio::ip::tcp::socket socket, Handler& handler,
                               SessionOptions options = {});
// Closes the session's socket; pending reads and writes end with an error.
void Close(const std::shared_ptr<Session>& session);

// Accepts connections on an address and serves each with the same handler. Lives on one
// io_context; not thread-safe. `handler` must outlive the server.
class Server {
 public:
  Server(boost::asio::io_context& io, Handler& handler);
  // Binds and listens; port 0 picks a free port (see port()).
  Result<void> Listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  void Stop();

 private:
  void Accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  Handler& handler_;
};

// Response helpers.
Response MakeResponse(unsigned status, std::string body,
                      std::string_view content_type = "application/json");

}  // namespace lambent::http
