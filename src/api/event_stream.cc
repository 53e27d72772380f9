#include "api/event_stream.h"

#include <array>
#include <cstdint>

#include <boost/crc.hpp>

namespace lambent::api {

namespace {

constexpr uint8_t kStringType = 7;
constexpr size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr size_t kCrcBytes = 4;

void PutUint32(std::string& out, uint32_t value) {
  out.push_back(char(value >> 24));
  out.push_back(char(value >> 16));
  out.push_back(char(value >> 8));
  out.push_back(char(value));
}

uint32_t Crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

size_t HeaderBytes(std::string_view name, std::string_view value) { return 1 + name.size() + 1 + 2 + value.size(); }

void PutHeader(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(char(name.size()));
  out.append(name);
  out.push_back(char(kStringType));
  out.push_back(char(value.size() >> 8));
  out.push_back(char(value.size()));
  out.append(value);
}

}  // namespace

std::string EventStreamMessage(std::string_view event_type, std::string_view content_type,
                               std::string_view payload) {
  const std::array<std::pair<std::string_view, std::string_view>, 3> headers{{
      {":event-type", event_type},
      {":content-type", content_type},
      {":message-type", "event"},
  }};
  size_t header_bytes = 0;
  for (const auto& [name, value] : headers) header_bytes += HeaderBytes(name, value);
  size_t total = kPreludeBytes + header_bytes + payload.size() + kCrcBytes;

  std::string out;
  out.reserve(total);
  PutUint32(out, uint32_t(total));
  PutUint32(out, uint32_t(header_bytes));
  PutUint32(out, Crc32(out));
  for (const auto& [name, value] : headers) PutHeader(out, name, value);
  out.append(payload);
  PutUint32(out, Crc32(out));
  return out;
}

}  // namespace lambent::api
