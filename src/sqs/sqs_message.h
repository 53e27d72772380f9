#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "async/queue_engine.h"
#include "base/error.h"

namespace lambent::sqs {

// SQS's limits, as the service documents them.
constexpr size_t kMaxMessageBytes = 262144;  // body and message attributes together
constexpr int kMaxBatchEntries = 10;
constexpr int kMaxMessageAttributes = 10;
constexpr int kMaxWaitSeconds = 20;

// One message attribute. `data_type` is String, Number or Binary, optionally with a
// ".label" suffix; `value` holds StringValue, or BinaryValue's raw bytes.
struct AttributeValue {
  std::string data_type;
  std::string value;

  bool IsBinary() const { return data_type.starts_with("Binary"); }
  bool operator==(const AttributeValue&) const = default;
};
using MessageAttributes = std::map<std::string, AttributeValue>;

// What an SQS message carries besides its body. Stored as the queue engine message's
// attributes (async::Message::attributes), so that every producer (SendMessage, Lambda
// destinations, dead-letter queues) writes what every consumer (ReceiveMessage, event
// source mappings) reads.
struct MessageMeta {
  MessageAttributes attributes;         // the message attributes
  MessageAttributes system_attributes;  // MessageSystemAttributes (AWSTraceHeader)
  std::string sender_id;
  std::string md5_of_body;        // hex
  std::string md5_of_attributes;  // hex; empty without attributes
  std::string sequence_number;    // FIFO queues: SendMessage's SequenceNumber; else empty

  std::string ToEngineAttributes() const;
  // nullopt for attributes this code did not write.
  static std::optional<MessageMeta> FromEngineAttributes(std::string_view text);
};

std::string Md5Hex(std::string_view bytes);
// SQS's MD5OfMessageAttributes (each attribute's name, type and value, length-prefixed, in
// name order); empty when there is none.
std::string Md5OfAttributes(const MessageAttributes& attributes);
// The size SQS counts against kMaxMessageBytes: the body plus each attribute's name, type
// and value.
size_t MessageSize(std::string_view body, const MessageAttributes& attributes);

// 1-80 of [A-Za-z0-9_-], with ".fifo" at the end for a FIFO queue. The queues lambent keeps
// for itself (a function's async invocations) contain another dot, so no user can name,
// list or touch them through the SQS API.
bool IsValidQueueName(std::string_view name);
std::string QueueArn(std::string_view region, std::string_view account, std::string_view name);
// The queue an ARN names when it is an SQS ARN of this region and account; nullopt
// otherwise.
std::optional<std::string> QueueNameFromArn(std::string_view arn, std::string_view region,
                                            std::string_view account);
// `base` is the scheme and authority clients reached the daemon with ("http://host:port").
std::string QueueUrl(std::string_view base, std::string_view account, std::string_view name);

// Appends a message to a user's queue as SendMessage would: for producers inside the
// daemon (destinations, dead-letter queues). Returns the message id; kNotFound when the
// queue does not exist; `completion` as QueueEngine::Append.
Result<std::string> Send(async::QueueEngine& engine, const std::string& queue, std::string body,
                         MessageAttributes attributes, std::string_view sender_id,
                         async::Completion completion);

}  // namespace lambent::sqs
