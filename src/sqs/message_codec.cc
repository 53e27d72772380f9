#include "sqs/message_codec.h"

#include <fmt/format.h>

#include "base/encoding.h"
#include "base/json.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

constexpr size_t kMaxAttributeNameBytes = 256;

std::string Shown(std::string_view text) { return ValidUtf8(text.substr(0, 256)); }

bool IsAttributeNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

bool IsValidAttributeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttributeNameBytes) return false;
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) return false;
  if (StartsWithNoCase(name, "AWS.") || StartsWithNoCase(name, "Amazon.")) return false;
  for (char c : name) {
    if (!IsAttributeNameChar(c)) return false;
  }
  return true;
}

// SQS's Number: an optional sign, digits with an optional fraction, an optional exponent.
bool IsNumber(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    size_t exponent = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == text.size();
}

Checked<AttributeValue> ParseValue(const std::string& name, const json& value) {
  auto invalid = [&name](std::string_view reason) {
    return tl::unexpected(
        SqsError::InvalidParameterValue(fmt::format("The message attribute '{}' {}", Shown(name), reason)));
  };
  if (!value.is_object()) return invalid("must be a map with DataType and a value.");
  auto type = OptionalString(value, "DataType");
  if (!type) return tl::unexpected(type.error());
  if (!*type || (*type)->empty()) return invalid("must contain non-empty message attribute type.");
  const std::string& data_type = **type;
  std::string_view base = std::string_view(data_type).substr(0, data_type.find('.'));
  if ((base != "String" && base != "Number" && base != "Binary") || data_type.size() > 256 ||
      !IsValidMessageText(data_type)) {
    return tl::unexpected(SqsError::InvalidParameterValue(fmt::format(
        "The type of message (user) attribute '{}' is invalid. You must use only the following supported type "
        "prefixes: Binary, Number, String.",
        Shown(name))));
  }
  AttributeValue out{data_type, ""};
  if (base == "Binary") {
    auto text = OptionalString(value, "BinaryValue");
    if (!text) return tl::unexpected(text.error());
    if (!*text || (*text)->empty()) {
      return invalid("must contain non-empty message attribute value for message attribute type 'Binary'.");
    }
    auto bytes = Base64Decode(**text);
    if (!bytes) return invalid("has a BinaryValue that is not valid base64.");
    out.value = std::move(*bytes);
    return out;
  }
  auto text = OptionalString(value, "StringValue");
  if (!text) return tl::unexpected(text.error());
  if (!*text || (*text)->empty()) {
    return invalid(fmt::format("must contain non-empty message attribute value for message attribute type '{}'.",
                               std::string(base)));
  }
  if (!IsValidMessageText(**text)) return invalid("contains invalid characters.");
  if (base == "Number" && !IsNumber(**text)) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        fmt::format("Can't cast the value of message (user) attribute '{}' to a number.", Shown(name))));
  }
  out.value = std::move(**text);
  return out;
}

// MessageGroupId and MessageDeduplicationId: 1-128 of the printable ASCII characters; ""
// when absent.
Checked<std::string> FifoId(const json& entry, const char* name) {
  auto value = OptionalString(entry, name);
  if (!value) return tl::unexpected(value.error());
  if (!*value) return std::string();
  const std::string& text = **value;
  bool valid = !text.empty() && text.size() <= 128;
  for (char c : text) valid = valid && c >= 0x21 && c <= 0x7E;
  if (!valid) {
    return tl::unexpected(SqsError::InvalidParameterValue(fmt::format(
        "Value {} for parameter {} is invalid. Reason: It can contain only 1 to 128 alphanumeric and punctuation "
        "characters.",
        Shown(text), name)));
  }
  return text;
}

}  // namespace

bool IsValidMessageText(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) return false;
      ++i;
      continue;
    }
    int length = c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (length == 0 || i + size_t(length) > text.size()) return false;
    uint32_t cp = length == 4 ? (c & 0x07) : length == 3 ? (c & 0x0F) : (c & 0x1F);
    for (int k = 1; k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + size_t(k)]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return false;
    i += size_t(length);
  }
  return true;
}

Checked<MessageAttributes> ParseMessageAttributes(const json& attributes) {
  MessageAttributes out;
  if (attributes.is_null()) return out;
  if (!attributes.is_object()) {
    return tl::unexpected(SqsError::InvalidParameterValue("MessageAttributes must be a map."));
  }
  if (attributes.size() > size_t(kMaxMessageAttributes)) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        fmt::format("Number of message attributes [{}] exceeds the allowed maximum [{}].", attributes.size(),
                    kMaxMessageAttributes)));
  }
  for (const auto& [name, value] : attributes.items()) {
    if (!IsValidAttributeName(name)) {
      return tl::unexpected(SqsError::InvalidParameterValue(
          fmt::format("Message (user) attribute name '{}' is invalid. The attribute name can contain A-Z, a-z, "
                      "0-9, underscore (_), hyphen (-), and period (.) characters, must not start or end with a "
                      "period, must not have successive periods and must not start with AWS. or Amazon.",
                      Shown(name))));
    }
    auto parsed = ParseValue(name, value);
    if (!parsed) return tl::unexpected(parsed.error());
    out.emplace(name, std::move(*parsed));
  }
  return out;
}

Checked<MessageAttributes> ParseSystemAttributes(const json& attributes) {
  MessageAttributes out;
  if (attributes.is_null()) return out;
  if (!attributes.is_object()) {
    return tl::unexpected(SqsError::InvalidParameterValue("MessageSystemAttributes must be a map."));
  }
  for (const auto& [name, value] : attributes.items()) {
    if (name != "AWSTraceHeader") {
      return tl::unexpected(
          SqsError::InvalidParameterValue(fmt::format("Message system attribute name '{}' is invalid.", Shown(name))));
    }
    auto parsed = ParseValue(name, value);
    if (!parsed) return tl::unexpected(parsed.error());
    if (parsed->data_type != "String") {
      return tl::unexpected(SqsError::InvalidParameterValue(
          "The message system attribute 'AWSTraceHeader' must have the data type String."));
    }
    out.emplace(name, std::move(*parsed));
  }
  return out;
}

Checked<PreparedMessage> PrepareMessage(const json& entry, const SendRules& rules, std::string_view sender_id) {
  const int64_t max_bytes = rules.max_bytes;
  auto body = RequiredString(entry, "MessageBody");
  if (!body) return tl::unexpected(body.error());
  if (!IsValidMessageText(*body)) {
    return tl::unexpected(SqsError::InvalidMessageContents(
        "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to "
        "#xFFFD | #x10000 to #x10FFFF"));
  }
  auto delay = OptionalInt(entry, "DelaySeconds", 0, 900);
  if (!delay) return tl::unexpected(delay.error());
  auto group = FifoId(entry, "MessageGroupId");
  if (!group) return tl::unexpected(group.error());
  auto dedup = FifoId(entry, "MessageDeduplicationId");
  if (!dedup) return tl::unexpected(dedup.error());
  if (rules.fifo) {
    if (group->empty()) return tl::unexpected(SqsError::MissingParameter("MessageGroupId"));
    if (*delay) {
      return tl::unexpected(SqsError::InvalidParameterValue(fmt::format(
          "Value {} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not "
          "valid for this queue type.",
          **delay)));
    }
    if (dedup->empty()) {
      if (!rules.content_based_dedup) {
        return tl::unexpected(SqsError::InvalidParameterValue(
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
            "explicitly"));
      }
      *dedup = HexEncode(Sha256(*body));
    }
  } else if (!dedup->empty()) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        "The request include parameter MessageDeduplicationId which is not valid for this queue type"));
  }
  const json none;
  auto attributes = ParseMessageAttributes(entry.contains("MessageAttributes") ? entry["MessageAttributes"] : none);
  if (!attributes) return tl::unexpected(attributes.error());
  auto system =
      ParseSystemAttributes(entry.contains("MessageSystemAttributes") ? entry["MessageSystemAttributes"] : none);
  if (!system) return tl::unexpected(system.error());
  size_t size = MessageSize(*body, *attributes);
  if (int64_t(size) > max_bytes) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        fmt::format("One or more parameters are invalid. Reason: Message must be shorter than {} bytes.", max_bytes)));
  }
  MessageMeta meta;
  meta.sender_id = std::string(sender_id);
  meta.md5_of_body = Md5Hex(*body);
  meta.md5_of_attributes = Md5OfAttributes(*attributes);
  meta.attributes = std::move(*attributes);
  meta.system_attributes = std::move(*system);
  if (rules.fifo && rules.sequence_number > 0) meta.sequence_number = std::to_string(rules.sequence_number);
  PreparedMessage prepared;
  prepared.answer = json{{"MD5OfMessageBody", meta.md5_of_body}};
  if (!meta.md5_of_attributes.empty()) prepared.answer["MD5OfMessageAttributes"] = meta.md5_of_attributes;
  if (!meta.system_attributes.empty()) {
    prepared.answer["MD5OfMessageSystemAttributes"] = Md5OfAttributes(meta.system_attributes);
  }
  if (!meta.sequence_number.empty()) prepared.answer["SequenceNumber"] = meta.sequence_number;
  prepared.message.body = std::move(*body);
  prepared.message.attributes = meta.ToEngineAttributes();
  prepared.message.group_id = std::move(*group);
  prepared.message.dedup_id = std::move(*dedup);
  if (*delay) prepared.message.delay_ms = **delay * 1000;
  return prepared;
}

ReceiveSelection ReceiveSelection::From(const std::vector<std::string>& system_names,
                                        const std::vector<std::string>& attribute_names) {
  ReceiveSelection selection;
  for (const std::string& name : system_names) {
    if (name == "All") selection.all_system = true;
    selection.system.insert(name);
  }
  for (const std::string& name : attribute_names) {
    if (name == "All" || name == ".*") {
      selection.all_attributes = true;
    } else if (name.size() > 2 && name.ends_with(".*")) {
      selection.attribute_prefixes.push_back(name.substr(0, name.size() - 1));  // keeps the dot
    } else {
      selection.attribute_names.insert(name);
    }
  }
  return selection;
}

bool ReceiveSelection::WantsAttribute(const std::string& name) const {
  if (all_attributes || attribute_names.contains(name)) return true;
  for (const std::string& prefix : attribute_prefixes) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

json RenderMessage(const async::LeasedMessage& leased, const ReceiveSelection& selection,
                   std::string_view default_sender, bool fifo) {
  const async::Message& message = leased.message;
  auto meta = MessageMeta::FromEngineAttributes(message.attributes);
  json out{{"MessageId", message.id}, {"ReceiptHandle", leased.receipt}, {"Body", message.body}};
  out["MD5OfBody"] = meta && !meta->md5_of_body.empty() ? meta->md5_of_body : Md5Hex(message.body);

  json system = json::object();
  auto wants = [&selection](const char* name) { return selection.all_system || selection.system.contains(name); };
  if (wants("SenderId")) system["SenderId"] = meta && !meta->sender_id.empty() ? meta->sender_id : default_sender;
  if (wants("SentTimestamp")) system["SentTimestamp"] = std::to_string(message.enqueued_ms);
  if (wants("ApproximateReceiveCount")) system["ApproximateReceiveCount"] = std::to_string(message.receive_count);
  if (wants("ApproximateFirstReceiveTimestamp")) {
    system["ApproximateFirstReceiveTimestamp"] = std::to_string(message.first_receive_ms);
  }
  if (fifo && wants("SequenceNumber")) {
    system["SequenceNumber"] =
        meta && !meta->sequence_number.empty() ? meta->sequence_number : std::to_string(message.seq);
  }
  if (!message.group_id.empty() && wants("MessageGroupId")) system["MessageGroupId"] = message.group_id;
  if (!message.dedup_id.empty() && wants("MessageDeduplicationId")) {
    system["MessageDeduplicationId"] = message.dedup_id;
  }
  if (meta && wants("AWSTraceHeader")) {
    if (auto it = meta->system_attributes.find("AWSTraceHeader"); it != meta->system_attributes.end()) {
      system["AWSTraceHeader"] = it->second.value;
    }
  }
  if (!system.empty()) out["Attributes"] = std::move(system);

  if (meta) {
    MessageAttributes chosen;
    for (const auto& [name, value] : meta->attributes) {
      if (selection.WantsAttribute(name)) chosen.emplace(name, value);
    }
    if (!chosen.empty()) {
      json attributes = json::object();
      for (const auto& [name, value] : chosen) {
        json entry{{"DataType", value.data_type}};
        if (value.IsBinary()) {
          entry["BinaryValue"] = Base64Encode(value.value);
        } else {
          entry["StringValue"] = value.value;
        }
        attributes[name] = std::move(entry);
      }
      out["MessageAttributes"] = std::move(attributes);
      out["MD5OfMessageAttributes"] = Md5OfAttributes(chosen);
    }
  }
  return out;
}

}  // namespace lambent::sqs
