#include "http/event_stream.h"

#include <array>
#include <cstdint>

#include <boost/crc.hpp>
#include <fmt/format.h>

namespace lambent::http {

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

uint32_t ReadUint32(std::string_view bytes, size_t at) {
  return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
         uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

constexpr uint32_t kMaxMessageBytes = 24 * 1024 * 1024;

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

std::optional<Result<EventStreamEvent>> EventStreamReader::Next() {
  auto corrupt = [this](std::string_view why) -> std::optional<Result<EventStreamEvent>> {
    broken_ = true;
    return tl::unexpected(Error::Invalid(fmt::format("corrupt event stream: {}", why)));
  };
  if (broken_) return corrupt("already broken");
  if (pending_.size() < kPreludeBytes) return std::nullopt;
  std::string_view data(pending_);
  uint32_t total = ReadUint32(data, 0);
  uint32_t header_bytes = ReadUint32(data, 4);
  if (ReadUint32(data, 8) != Crc32(data.substr(0, 8))) return corrupt("prelude checksum");
  if (total > kMaxMessageBytes || total < kPreludeBytes + kCrcBytes + header_bytes) return corrupt("lengths");
  if (data.size() < total) return std::nullopt;
  if (ReadUint32(data, total - kCrcBytes) != Crc32(data.substr(0, total - kCrcBytes))) {
    return corrupt("message checksum");
  }
  EventStreamEvent event;
  std::string_view headers = data.substr(kPreludeBytes, header_bytes);
  while (!headers.empty()) {
    size_t name_length = uint8_t(headers[0]);
    if (headers.size() < 1 + name_length + 1) return corrupt("header");
    std::string_view name = headers.substr(1, name_length);
    uint8_t type = uint8_t(headers[1 + name_length]);
    headers.remove_prefix(2 + name_length);
    if (type != kStringType || headers.size() < 2) return corrupt("header type");
    size_t value_length = size_t(uint8_t(headers[0])) << 8 | uint8_t(headers[1]);
    if (headers.size() < 2 + value_length) return corrupt("header value");
    std::string_view value = headers.substr(2, value_length);
    headers.remove_prefix(2 + value_length);
    if (name == ":event-type" || name == ":exception-type") event.type = value;
    if (name == ":message-type") event.exception = value != "event";
  }
  event.payload = pending_.substr(kPreludeBytes + header_bytes, total - kPreludeBytes - header_bytes - kCrcBytes);
  pending_.erase(0, total);
  return event;
}

}  // namespace lambent::http
