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
Result<Response> Fetch(const Endpoint& endpoint, beast_http::verb method, const std::string& target,
                       std::string body = {},
                       const std::map<std::string, std::string>& headers = {});

}  // namespace lambent::http
