#include "http/server.h"

#include <array>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <fmt/format.h>

namespace lambent::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Handler& handler, SessionOptions options)
      : socket_(std::move(socket)), handler_(handler), options_(options) {}

  void Start() { ReadHeader(); }

  void Write(Response response) {
    if (closed_) return;
    response.version(11);
    response.keep_alive(keep_alive_ && !close_after_write_);
    response.prepare_payload();
    response_ = std::move(response);
    beast_http::async_write(socket_, *response_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->response_.reset();
                              if (self->closed_) return;
                              if (!ec && self->close_after_write_) return self->Linger();
                              if (ec || !self->keep_alive_) {
                                self->Shutdown();
                                return;
                              }
                              self->ReadHeader();
                            });
  }

  void Abandon() {
    // A request that will never be answered: the client must not wait forever.
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->Shutdown(); });
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // After refusing a body we did not read: half-close and discard what the client still
  // sends, so it reads our answer instead of a connection reset.
  void Linger() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    if (!discard_) discard_ = std::make_unique<std::array<char, 65536>>();
    socket_.async_read_some(asio::buffer(*discard_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      if (ec || self->closed_ || self->lingered_ > kMaxLingerBytes) return self->Shutdown();
      self->Linger();
    });
  }

  bool closed() const { return closed_; }
  tcp::socket& socket() { return socket_; }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(options_.header_limit);
    // The body limit is chosen per route once the header is known.
    parser_->body_limit(boost::none);
    beast_http::async_read_header(
        socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          self->OnHeader(ec);
        });
  }

  // Every completion checks closed_ first: after Shutdown() the handler may be gone.
  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    if (ec) return Shutdown();
    const auto& header = parser_->get().base();
    uint64_t limit = handler_.BodyLimit(header);
    auto length = parser_->content_length();
    if (length && *length > limit) {
      // Refuse before reading: the client learns at once and nothing is buffered.
      close_after_write_ = true;
      keep_alive_ = false;
      return Write(handler_.Reject(header, limit));
    }
    parser_->body_limit(limit);
    beast_http::async_read(socket_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             self->OnBody(ec);
                           });
  }

  void OnBody(beast::error_code ec) {
    if (closed_) return;
    if (ec == beast_http::error::body_limit) {
      close_after_write_ = true;
      keep_alive_ = false;
      return Write(handler_.Reject(parser_->get().base(), handler_.BodyLimit(parser_->get())));
    }
    if (ec) return Shutdown();
    keep_alive_ = parser_->get().keep_alive();
    Request request = parser_->release();
    parser_.reset();
    handler_.Handle(std::move(request), Responder(shared_from_this()));
  }

  tcp::socket socket_;
  Handler& handler_;
  SessionOptions options_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  std::optional<Response> response_;
  static constexpr size_t kMaxLingerBytes = 128 * 1024 * 1024;
  std::unique_ptr<std::array<char, 65536>> discard_;
  size_t lingered_ = 0;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool closed_ = false;
};

Responder::~Responder() {
  if (session_) session_->Abandon();
}

void Responder::operator()(Response response) {
  auto session = std::move(session_);
  if (!session) return;
  asio::dispatch(session->socket().get_executor(),
                 [session, response = std::move(response)]() mutable {
                   session->Write(std::move(response));
                 });
}

bool Responder::connected() const { return session_ && !session_->closed(); }

std::shared_ptr<Session> Serve(tcp::socket socket, Handler& handler, SessionOptions options) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<Session>(std::move(socket), handler, options);
  session->Start();
  return session;
}

void Close(const std::shared_ptr<Session>& session) {
  if (session) session->Shutdown();
}

Server::Server(asio::io_context& io, Handler& handler) : acceptor_(io), handler_(handler) {}

Result<void> Server::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return tl::unexpected(Error::Invalid(fmt::format("bad listen address '{}'", host)));
  tcp::endpoint endpoint(address, port);
  std::string what = fmt::format("{}:{}", host, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return tl::unexpected(Error::System("socket", what, ec.value()));
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor_.bind(endpoint, ec);
  if (ec) return tl::unexpected(Error::System("bind", what, ec.value()));
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return tl::unexpected(Error::System("listen", what, ec.value()));
  Accept();
  return Ok();
}

uint16_t Server::port() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Server::Stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void Server::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) Serve(std::move(socket), handler_);
    Accept();
  });
}

Response MakeResponse(unsigned status, std::string body, std::string_view content_type) {
  Response response{static_cast<beast_http::status>(status), 11};
  if (!content_type.empty()) response.set(beast_http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace lambent::http
