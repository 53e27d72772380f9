#pragma once

#include <map>
#include <string>

#include "base/error.h"
#include "http/server.h"

namespace lambent::http {

// A parsed http://host:port base URL.
struct Endpoint {
  std::string host;
  std::string port;
};
Result<Endpoint> ParseEndpoint(const std::string& url);

// One blocking HTTP/1.1 request on a fresh connection; for the CLI and tests, never the
// daemon's data path. Errors: kSystem when the server cannot be reached.
// With `on_piece`, a 2xx response's body goes there piece by piece as it arrives instead of
// into the response (a body that is not chunked: in one piece at the end); any other status
// keeps its (error) body in the response.
Result<Response> Fetch(const Endpoint& endpoint, beast_http::verb method, const std::string& target,
                       std::string body = {},
                       const std::map<std::string, std::string>& headers = {},
                       const BodyPieceSink& on_piece = nullptr);

}  // namespace lambent::http
