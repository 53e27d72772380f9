#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "async/queue_types.h"
#include "sqs/request_input.h"
#include "sqs/sqs_message.h"

namespace lambent::sqs {

// Turning SendMessage entries into engine messages and leased engine messages into
// ReceiveMessage's answer. Pure functions.

// Whether every character is one SQS accepts in a message: #x9 | #xA | #xD | #x20-#xD7FF |
// #xE000-#xFFFD | #x10000-#x10FFFF, as well-formed UTF-8.
bool IsValidMessageText(std::string_view text);

// MessageAttributes as SendMessage gives them ({"name": {"DataType", "StringValue" or
// "BinaryValue" (base64)}}): at most 10, valid names, types and values.
Checked<MessageAttributes> ParseMessageAttributes(const nlohmann::json& attributes);
// MessageSystemAttributes: AWSTraceHeader (a String) is the only one a sender may set.
Checked<MessageAttributes> ParseSystemAttributes(const nlohmann::json& attributes);

// One SendMessage (or batch entry) checked and ready to append, with its answer
// (MD5OfMessageBody...; the caller adds MessageId once the engine has given it).
struct PreparedMessage {
  async::NewMessage message;
  nlohmann::json answer;
};
// What the queue asks of a message.
struct SendRules {
  int64_t max_bytes = kMaxMessageBytes;  // MaximumMessageSize
  bool fifo = false;                     // MessageGroupId required, no per-message delay
  bool content_based_dedup = false;      // FIFO: the body's SHA-256 when no dedup id is given
  // FIFO: this message's SequenceNumber (increasing in send order); 0 on standard queues.
  uint64_t sequence_number = 0;
};
// `sender_id` goes into the metadata.
Checked<PreparedMessage> PrepareMessage(const nlohmann::json& entry, const SendRules& rules,
                                        std::string_view sender_id);

// What ReceiveMessage asked to see of each message.
struct ReceiveSelection {
  bool all_system = false;
  std::set<std::string> system;  // SenderId, SentTimestamp, ...
  bool all_attributes = false;
  std::vector<std::string> attribute_prefixes;  // from "prefix.*"
  std::set<std::string> attribute_names;

  // From AttributeNames + MessageSystemAttributeNames and MessageAttributeNames.
  static ReceiveSelection From(const std::vector<std::string>& system_names,
                               const std::vector<std::string>& attribute_names);
  bool WantsAttribute(const std::string& name) const;
};

// One message of ReceiveMessage's answer, in the JSON protocol's shape. Messages written
// without SQS metadata get their body's MD5 and `default_sender` as SenderId. A FIFO
// queue's messages have a SequenceNumber.
nlohmann::json RenderMessage(const async::LeasedMessage& leased, const ReceiveSelection& selection,
                             std::string_view default_sender, bool fifo = false);

}  // namespace lambent::sqs
