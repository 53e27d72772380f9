#include "http/event_stream.h"

#include <cstdint>
#include <string>
#include <vector>

#include <boost/crc.hpp>
#include <gtest/gtest.h>

namespace lambent::http {
namespace {

uint32_t ReadUint32(const std::string& bytes, size_t at) {
  return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
         uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

uint32_t Crc(const std::string& bytes, size_t length) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), length);
  return crc.checksum();
}

TEST(EventStreamTest, FramesAPayloadChunkWithLengthsHeadersAndBothChecksums) {
  std::string payload("hi\0there", 8);
  std::string message = EventStreamMessage("PayloadChunk", "application/octet-stream", payload);
  ASSERT_GE(message.size(), 16u);
  EXPECT_EQ(ReadUint32(message, 0), message.size());
  uint32_t header_bytes = ReadUint32(message, 4);
  EXPECT_EQ(ReadUint32(message, 8), Crc(message, 8));
  EXPECT_EQ(ReadUint32(message, message.size() - 4), Crc(message, message.size() - 4));
  EXPECT_EQ(message.size(), 12 + header_bytes + payload.size() + 4);
  EXPECT_EQ(message.substr(12 + header_bytes, payload.size()), payload);
  // The first header: name length, name, type 7 (string), value length, value.
  EXPECT_EQ(message[12], char(11));
  EXPECT_EQ(message.substr(13, 11), ":event-type");
  EXPECT_EQ(message[24], char(7));
  EXPECT_EQ(ReadUint32(message, 23) & 0xffff, 12u);
  EXPECT_EQ(message.substr(27, 12), "PayloadChunk");
  EXPECT_NE(message.find(":message-type"), std::string::npos);
}

// The CRC32 (IEEE) the encoding uses, against its well-known check value.
TEST(EventStreamTest, UsesTheIeeeCrc32) {
  std::string check = "123456789";
  EXPECT_EQ(Crc(check, check.size()), 0xCBF43926u);
}

TEST(EventStreamTest, AnEmptyPayloadStillMakesAWholeMessage) {
  std::string message = EventStreamMessage("InvokeComplete", "application/json", "");
  EXPECT_EQ(ReadUint32(message, 0), message.size());
  EXPECT_EQ(ReadUint32(message, message.size() - 4), Crc(message, message.size() - 4));
}

TEST(EventStreamTest, TheReaderDecodesMessagesFedInAnyPieces) {
  std::string stream = EventStreamMessage("PayloadChunk", "application/octet-stream", "abc") +
                       EventStreamMessage("PayloadChunk", "application/octet-stream", std::string(70000, 'x')) +
                       EventStreamMessage("InvokeComplete", "application/json", "{}");
  EventStreamReader reader;
  std::vector<EventStreamEvent> events;
  for (size_t at = 0; at < stream.size(); at += 7) {
    reader.Add(std::string_view(stream).substr(at, 7));
    while (auto next = reader.Next()) {
      ASSERT_TRUE(*next) << next->error().message();
      events.push_back(**next);
    }
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "PayloadChunk");
  EXPECT_EQ(events[0].payload, "abc");
  EXPECT_EQ(events[1].payload.size(), 70000u);
  EXPECT_EQ(events[2].type, "InvokeComplete");
  EXPECT_FALSE(events[2].exception);
}

TEST(EventStreamTest, TheReaderRefusesACorruptMessage) {
  std::string message = EventStreamMessage("PayloadChunk", "application/octet-stream", "abc");
  message[message.size() - 6] ^= 1;
  EventStreamReader reader;
  reader.Add(message);
  auto next = reader.Next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
  EventStreamReader garbage;
  garbage.Add(std::string(16, '\xff'));
  ASSERT_TRUE(garbage.Next());
}

}  // namespace
}  // namespace lambent::http
