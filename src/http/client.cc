#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <fmt/format.h>

#include <utility>

namespace lambent::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

Result<Endpoint> ParseEndpoint(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return tl::unexpected(Error::Invalid(fmt::format("endpoint '{}': only http:// is supported", url)));
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (rest.empty() || colon == std::string_view::npos || colon + 1 == rest.size()) {
    return tl::unexpected(Error::Invalid(fmt::format("endpoint '{}': expected http://HOST:PORT", url)));
  }
  return Endpoint{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

Result<Response> Fetch(const Endpoint& endpoint, beast_http::verb method, const std::string& target,
                       std::string body, const std::map<std::string, std::string>& headers,
                       const BodyPieceSink& on_piece) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::error_code ec;
  std::string where = fmt::format("{}:{}", endpoint.host, endpoint.port);
  auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (ec) return tl::unexpected(Error::System("resolve", where, ec.value()));
  stream.connect(results, ec);
  if (ec) return tl::unexpected(Error::System("connect", where, ec.value()));

  Request request{method, target, 11};
  // With the port (RFC 9110 7.2): the daemon builds URLs back to itself from the Host.
  request.set(beast_http::field::host, where);
  request.set(beast_http::field::user_agent, "lambent-cli");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() && request.find(beast_http::field::content_type) == request.end()) {
    request.set(beast_http::field::content_type, "application/json");
  }
  request.body() = std::move(body);
  request.prepare_payload();
  beast_http::write(stream, request, ec);
  if (ec) return tl::unexpected(Error::System("write", where, ec.value()));

  beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::string_body> parser;
  parser.body_limit(512ull * 1024 * 1024);
  parser.header_limit(1024 * 1024);
  std::function<size_t(uint64_t, std::string_view, beast::error_code&)> to_sink =
      [&on_piece](uint64_t, std::string_view piece, beast::error_code&) {
        on_piece(piece);
        return piece.size();
      };
  beast_http::read_header(stream, buffer, parser, ec);
  bool streamed = !ec && on_piece && parser.get().result_int() / 100 == 2;
  if (streamed && parser.chunked()) parser.on_chunk_body(to_sink);
  if (!ec) beast_http::read(stream, buffer, parser, ec);
  if (ec) return tl::unexpected(Error::System("read", where, ec.value()));
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  auto response = parser.release();
  if (streamed && !response.body().empty()) on_piece(std::exchange(response.body(), {}));
  return response;
}

}  // namespace lambent::http
