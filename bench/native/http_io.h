// Minimal blocking HTTP/1.1 message I/O over a POSIX socket, for the benchmark's native
// bootstrap and direct baseline server. Reads one message head, finds headers
// case-insensitively, reads Content-Length or chunked bodies. Keep-alive: leftover bytes stay
// in the connection's buffer for the next message.
#pragma once

#include <errno.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace bench {

struct Conn {
  int fd = -1;
  std::string buf;  // bytes read but not consumed
  size_t pos = 0;   // start of unconsumed bytes in buf

  // Reads more bytes; false on EOF or error.
  bool Fill() {
    if (pos > 0 && pos == buf.size()) {
      buf.clear();
      pos = 0;
    }
    char chunk[16384];
    for (;;) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf.append(chunk, size_t(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  // One message head (start line + headers, without the blank line).
  bool ReadHead(std::string& head) {
    for (;;) {
      size_t end = buf.find("\r\n\r\n", pos);
      if (end != std::string::npos) {
        head.assign(buf, pos, end - pos);
        pos = end + 4;
        return true;
      }
      if (buf.size() - pos > (1u << 20)) return false;
      if (!Fill()) return false;
    }
  }

  bool ReadExactly(size_t n, std::string& out) {
    while (buf.size() - pos < n) {
      if (!Fill()) return false;
    }
    out.append(buf, pos, n);
    pos += n;
    return true;
  }

  bool ReadLine(std::string& line) {
    for (;;) {
      size_t end = buf.find("\r\n", pos);
      if (end != std::string::npos) {
        line.assign(buf, pos, end - pos);
        pos = end + 2;
        return true;
      }
      if (!Fill()) return false;
    }
  }
};

// The value of header `name` in `head`, or an empty view.
inline std::string_view Header(std::string_view head, std::string_view name) {
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos) {
    size_t start = at + 2;
    size_t end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        ::strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return value;
    }
    at = end;
  }
  return {};
}

inline bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (::strncasecmp(hay.data() + i, needle.data(), needle.size()) == 0) return true;
  }
  return false;
}

// Reads the body that follows `head`; `close_delimited` allows a body up to EOF (responses).
inline bool ReadBody(Conn& c, std::string_view head, std::string& body, bool close_delimited) {
  body.clear();
  if (ContainsNoCase(Header(head, "Transfer-Encoding"), "chunked")) {
    std::string line;
    for (;;) {
      if (!c.ReadLine(line)) return false;
      size_t size = std::strtoul(line.c_str(), nullptr, 16);
      if (size == 0) {
        do {  // trailers up to the blank line
          if (!c.ReadLine(line)) return false;
        } while (!line.empty());
        return true;
      }
      if (!c.ReadExactly(size, body) || !c.ReadLine(line)) return false;
    }
  }
  std::string_view length = Header(head, "Content-Length");
  if (!length.empty()) return c.ReadExactly(std::strtoul(std::string(length).c_str(), nullptr, 10), body);
  if (!close_delimited) return true;
  while (c.Fill()) {
  }
  body.append(c.buf, c.pos, std::string::npos);
  c.pos = c.buf.size();
  return true;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace bench
