// A provided.al2023 bootstrap for the benchmark: a tiny Lambda Runtime API client over plain
// POSIX sockets with one keep-alive connection. Loops GET /invocation/next -> handler ->
// POST /invocation/{id}/response. _HANDLER picks the handler (bench/native/handler.h).
//
// Built by bench/run.sh:  g++ -O2 -std=c++20 -o <function dir>/bootstrap bootstrap.cc
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "handler.h"
#include "http_io.h"

namespace {

constexpr std::string_view kPrefix = "/2018-06-01/runtime";

struct Client {
  std::string host, port, host_header;
  bench::Conn conn;

  bool Connect() {
    if (conn.fd >= 0) ::close(conn.fd);
    conn = bench::Conn{};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0) return false;
    for (addrinfo* a = result; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn.fd = fd;
        break;
      }
      ::close(fd);
    }
    ::freeaddrinfo(result);
    return conn.fd >= 0;
  }

  // One request/response; retries once on a fresh connection if a reused one was closed.
  bool Request(std::string_view method, std::string_view path, std::string_view body, std::string& head,
               std::string& response_body) {
    std::string request;
    request.reserve(256 + body.size());
    request.append(method).append(" ").append(kPrefix).append(path).append(" HTTP/1.1\r\nHost: ");
    request.append(host_header).append("\r\n");
    if (method == "POST") {
      request.append("Content-Type: application/json\r\nContent-Length: ")
          .append(std::to_string(body.size()))
          .append("\r\n");
    }
    request.append("\r\n").append(body);
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = conn.fd >= 0;
      if (!reused && !Connect()) return false;
      if (bench::SendAll(conn.fd, request) && conn.ReadHead(head) &&
          bench::ReadBody(conn, head, response_body, true)) {
        if (bench::ContainsNoCase(bench::Header(head, "Connection"), "close")) {
          ::close(conn.fd);
          conn.fd = -1;
        }
        return true;
      }
      ::close(conn.fd);
      conn.fd = -1;
      if (!reused) return false;
    }
    return false;
  }
};

}  // namespace

int main() {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  const char* handler_name = std::getenv("_HANDLER");
  if (!api) {
    std::fprintf(stderr, "bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  Client client;
  client.host_header = api;
  std::string address = api;
  size_t colon = address.rfind(':');
  client.host = colon == std::string::npos ? address : address.substr(0, colon);
  client.port = colon == std::string::npos ? "80" : address.substr(colon + 1);

  std::string head, body;
  bench::Handler handler = bench::FindHandler(handler_name ? handler_name : "");
  if (!handler) {
    std::string error = std::string(R"({"errorType":"Runtime.HandlerNotFound","errorMessage":"no handler )") +
                        (handler_name ? handler_name : "") + R"("})";
    client.Request("POST", "/init/error", error, head, body);
    return 1;
  }

  std::string path;
  for (;;) {
    if (!client.Request("GET", "/invocation/next", {}, head, body)) {
      std::fprintf(stderr, "bootstrap: the Runtime API went away\n");
      return 1;
    }
    std::string_view id = bench::Header(head, "Lambda-Runtime-Aws-Request-Id");
    if (id.empty()) continue;
    path.assign("/invocation/").append(id).append("/response");
    std::string result = handler(body);
    if (!client.Request("POST", path, result, head, body)) {
      std::fprintf(stderr, "bootstrap: posting the response failed\n");
      return 1;
    }
  }
}
