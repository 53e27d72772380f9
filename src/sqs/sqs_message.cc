#include "sqs/sqs_message.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/json.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

json AttributesToJson(const MessageAttributes& attributes) {
  json out = json::object();
  for (const auto& [name, value] : attributes) {
    // Binary values go as base64: the document must stay valid UTF-8.
    out[name] = {{"t", value.data_type}, {"v", value.IsBinary() ? Base64Encode(value.value) : value.value}};
  }
  return out;
}

std::optional<MessageAttributes> AttributesFromJson(const json& in) {
  MessageAttributes out;
  if (!in.is_object()) return std::nullopt;
  for (const auto& [name, entry] : in.items()) {
    if (!entry.is_object() || !entry.contains("t") || !entry.contains("v") || !entry["t"].is_string() ||
        !entry["v"].is_string()) {
      return std::nullopt;
    }
    AttributeValue value{entry["t"].get<std::string>(), entry["v"].get<std::string>()};
    if (value.IsBinary()) {
      auto bytes = Base64Decode(value.value);
      if (!bytes) return std::nullopt;
      value.value = std::move(*bytes);
    }
    out.emplace(name, std::move(value));
  }
  return out;
}

void AppendLengthPrefixed(std::string& out, std::string_view bytes) {
  uint32_t n = uint32_t(bytes.size());
  out.push_back(char((n >> 24) & 0xff));
  out.push_back(char((n >> 16) & 0xff));
  out.push_back(char((n >> 8) & 0xff));
  out.push_back(char(n & 0xff));
  out.append(bytes);
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string MessageMeta::ToEngineAttributes() const {
  json doc{{"sqs", 1}, {"sender", sender_id}, {"md5", md5_of_body}};
  if (!attributes.empty()) {
    doc["attrs"] = AttributesToJson(attributes);
    doc["md5_attrs"] = md5_of_attributes;
  }
  if (!system_attributes.empty()) doc["system"] = AttributesToJson(system_attributes);
  if (!sequence_number.empty()) doc["seq"] = sequence_number;
  return DumpJson(doc);
}

std::optional<MessageMeta> MessageMeta::FromEngineAttributes(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("sqs")) return std::nullopt;
  MessageMeta meta;
  auto text_of = [&doc](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  meta.sender_id = text_of("sender");
  meta.md5_of_body = text_of("md5");
  meta.md5_of_attributes = text_of("md5_attrs");
  meta.sequence_number = text_of("seq");
  if (auto it = doc.find("attrs"); it != doc.end()) {
    auto attributes = AttributesFromJson(*it);
    if (!attributes) return std::nullopt;
    meta.attributes = std::move(*attributes);
  }
  if (auto it = doc.find("system"); it != doc.end()) {
    auto attributes = AttributesFromJson(*it);
    if (!attributes) return std::nullopt;
    meta.system_attributes = std::move(*attributes);
  }
  return meta;
}

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string Md5OfAttributes(const MessageAttributes& attributes) {
  if (attributes.empty()) return {};
  std::string buffer;
  for (const auto& [name, value] : attributes) {  // std::map: in name order
    AppendLengthPrefixed(buffer, name);
    AppendLengthPrefixed(buffer, value.data_type);
    buffer.push_back(value.IsBinary() ? char(2) : char(1));
    AppendLengthPrefixed(buffer, value.value);
  }
  return Md5Hex(buffer);
}

size_t MessageSize(std::string_view body, const MessageAttributes& attributes) {
  size_t size = body.size();
  for (const auto& [name, value] : attributes) size += name.size() + value.data_type.size() + value.value.size();
  return size;
}

bool IsValidQueueName(std::string_view name) {
  if (name.ends_with(".fifo")) name.remove_suffix(5);
  if (name.empty() || name.size() > 80) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string QueueArn(std::string_view region, std::string_view account, std::string_view name) {
  std::string arn = "arn:aws:sqs:";
  arn.append(region).append(":").append(account).append(":").append(name);
  return arn;
}

std::optional<std::string> QueueNameFromArn(std::string_view arn, std::string_view region,
                                            std::string_view account) {
  std::string prefix = QueueArn(region, account, "");
  if (!arn.starts_with(prefix)) return std::nullopt;
  std::string name(arn.substr(prefix.size()));
  if (!IsValidQueueName(name)) return std::nullopt;
  return name;
}

std::string QueueUrl(std::string_view base, std::string_view account, std::string_view name) {
  std::string url(base);
  while (!url.empty() && url.back() == '/') url.pop_back();
  url.append("/").append(account).append("/").append(name);
  return url;
}

Result<std::string> Send(async::QueueEngine& engine, const std::string& queue, std::string body,
                         MessageAttributes attributes, std::string_view sender_id,
                         async::Completion completion) {
  if (!IsValidQueueName(queue)) return tl::unexpected(Error::NotFound("The specified queue does not exist."));
  MessageMeta meta;
  meta.sender_id = std::string(sender_id);
  meta.md5_of_body = Md5Hex(body);
  meta.md5_of_attributes = Md5OfAttributes(attributes);
  meta.attributes = std::move(attributes);
  std::vector<async::NewMessage> messages(1);
  messages[0].body = std::move(body);
  messages[0].attributes = meta.ToEngineAttributes();
  auto ids = engine.Append(queue, std::move(messages), std::move(completion));
  if (!ids) return tl::unexpected(ids.error());
  return ids->front();
}

}  // namespace lambent::sqs
