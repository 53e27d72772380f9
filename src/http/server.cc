#include "http/server.h"

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace lambent::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

std::string_view ErrorTypeFor(unsigned status) {
  switch (status) {
    case 400: return "InvalidRequestContentException";
    case 431: return "RequestTooLargeException";
    case 501: return "NotImplementedException";
    default: return "ServiceException";
  }
}

// The error body without nlohmann's exceptions: `message` may hold any bytes a client sent.
std::string ErrorJson(unsigned status, std::string_view message) {
  nlohmann::json body{{"Type", status >= 500 && status != 501 ? "Service" : "User"},
                      {"message", message}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory;
}

}  // namespace

BodyPieceSink Handler::StreamBody(const RequestHeader&) { return nullptr; }

Response Handler::ProtocolError(unsigned status, std::string_view message) {
  auto response = MakeResponse(status, ErrorJson(status, message));
  response.set("x-amzn-ErrorType", ErrorTypeFor(status));
  return response;
}

Server::Server(asio::io_context& io, Handler& handler, ServerOptions options)
    : acceptor_(io), handler_(handler), options_(std::move(options)),
      open_count_(std::make_shared<std::atomic<size_t>>(0)), backoff_(io) {
  options_.session.open_count = open_count_;
}

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
  backoff_.cancel();
}

void Server::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Server::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (OutOfDescriptors(ec)) {
    // The connection stays in the listen queue; accepting again at once would fail again
    // at once, forever (the loop used to spin a core here).
    if (!out_of_descriptors_) {
      spdlog::warn("accept: {} ({} connections open); pausing accepts", ec.message(), connections());
      out_of_descriptors_ = true;
    }
    backoff_.expires_after(options_.accept_backoff);
    backoff_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  if (!ec) {
    if (out_of_descriptors_) {
      spdlog::info("accept: descriptors available again");
      out_of_descriptors_ = false;
    }
    if (connections() >= options_.max_connections) {
      Refuse(std::move(socket));
    } else {
      ++*open_count_;
      Serve(std::move(socket), handler_, options_.session);
    }
  }
  Accept();
}

void Server::Refuse(tcp::socket socket) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ > std::chrono::seconds(10)) {
    spdlog::warn("http: {} connections open, the most allowed: refusing new ones with 503",
                 connections());
    last_refusal_log_ = now;
  }
  // Answered without reading the request, in one non-blocking write that a fresh socket's
  // send buffer always takes; nothing waits on this client.
  std::string body = ErrorJson(503, "Too many open connections; retry later");
  std::string answer = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "x-amzn-ErrorType: ServiceException\r\nRetry-After: 1\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      body.size(), body);
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(answer), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

Response MakeResponse(unsigned status, std::string body, std::string_view content_type) {
  Response response{static_cast<beast_http::status>(status), 11};
  if (!content_type.empty()) response.set(beast_http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace lambent::http
