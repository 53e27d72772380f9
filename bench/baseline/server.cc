// The direct baseline for the native rows: the same handler as the provided bootstrap
// (bench/native/handler.h) behind one loopback HTTP/1.1 keep-alive hop, no platform.
// One thread per connection, blocking I/O (bench/native/http_io.h).
//
//   server PORT HANDLER        e.g. server 9101 noop
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "../native/handler.h"
#include "../native/http_io.h"

namespace {

void Serve(int fd, bench::Handler handler) {
  bench::Conn conn;
  conn.fd = fd;
  std::string head, body, response;
  while (conn.ReadHead(head) && bench::ReadBody(conn, head, body, false)) {
    std::string result = handler(body);
    bool close = bench::ContainsNoCase(bench::Header(head, "Connection"), "close");
    response.assign("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(result.size()))
        .append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        .append(result);
    if (!bench::SendAll(fd, response) || close) break;
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PORT HANDLER\n", argv[0]);
    return 2;
  }
  bench::Handler handler = bench::FindHandler(argv[2]);
  if (!handler) {
    std::fprintf(stderr, "unknown handler %s\n", argv[2]);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listener, 1024) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::thread(Serve, fd, handler).detach();
  }
}
