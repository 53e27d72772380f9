#include "cli/listen_address.h"

#include <string>

#include <boost/asio/ip/address.hpp>

namespace lambent::cli {

bool IsLoopbackListen(std::string_view listen) {
  auto colon = listen.rfind(':');
  std::string_view host = colon == std::string_view::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // "localhost" could be given another address in /etc/hosts, but binding to it is the
  // operator's explicit wish for a local-only daemon.
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

}  // namespace lambent::cli
