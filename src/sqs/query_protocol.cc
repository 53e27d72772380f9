#include "sqs/query_protocol.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>
#include <vector>

#include "base/json.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> DecodeComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(char(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The flattened parameters as a tree: "Attribute.1.Name" becomes tree["Attribute"]["1"]["Name"].
json ParamTree(const FormParams& params) {
  json tree = json::object();
  for (const auto& [key, value] : params) {
    json* node = &tree;
    std::string_view rest = key;
    while (true) {
      size_t dot = rest.find('.');
      std::string segment(rest.substr(0, dot));
      if (!node->is_object()) *node = json::object();
      node = &(*node)[segment];
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    // A parameter that is both a leaf and a prefix ("A=1&A.1=2") keeps the deeper form.
    if (!node->is_object()) *node = value;
  }
  return tree;
}

// The children of a flattened list or map, in index order (1, 2, ...); other keys dropped.
std::vector<const json*> Indexed(const json& node) {
  std::vector<std::pair<uint64_t, const json*>> items;
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      uint64_t index = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      if (ec == std::errc() && end == key.data() + key.size()) items.emplace_back(index, &child);
    }
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const json*> out;
  for (const auto& item : items) out.push_back(item.second);
  return out;
}

std::string TextOf(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

enum class Kind { kList, kNameValueMap, kKeyValueMap, kAttributeValueMap, kEntries };
struct Rule {
  const char* query_name;
  Kind kind;
  const char* json_name;
};
constexpr Rule kRules[] = {
    {"AttributeName", Kind::kList, "AttributeNames"},
    {"MessageSystemAttributeName", Kind::kList, "MessageSystemAttributeNames"},
    {"MessageAttributeName", Kind::kList, "MessageAttributeNames"},
    {"TagKey", Kind::kList, "TagKeys"},
    {"AWSAccountId", Kind::kList, "AWSAccountIds"},
    {"ActionName", Kind::kList, "Actions"},
    {"Attribute", Kind::kNameValueMap, "Attributes"},
    {"Tag", Kind::kKeyValueMap, "Tags"},
    {"MessageAttribute", Kind::kAttributeValueMap, "MessageAttributes"},
    {"MessageSystemAttribute", Kind::kAttributeValueMap, "MessageSystemAttributes"},
    {"SendMessageBatchRequestEntry", Kind::kEntries, "Entries"},
    {"DeleteMessageBatchRequestEntry", Kind::kEntries, "Entries"},
    {"ChangeMessageVisibilityBatchRequestEntry", Kind::kEntries, "Entries"},
};

json Convert(const json& tree);

json ConvertMember(const Rule& rule, const json& node) {
  switch (rule.kind) {
    case Kind::kList: {
      json out = json::array();
      for (const json* item : Indexed(node)) {
        if (item->is_string()) out.push_back(*item);
      }
      return out;
    }
    case Kind::kNameValueMap:
    case Kind::kKeyValueMap: {
      const char* key_name = rule.kind == Kind::kNameValueMap ? "Name" : "Key";
      json out = json::object();
      for (const json* item : Indexed(node)) {
        if (item->is_object() && item->contains(key_name)) out[TextOf(*item, key_name)] = TextOf(*item, "Value");
      }
      return out;
    }
    case Kind::kAttributeValueMap: {
      json out = json::object();
      for (const json* item : Indexed(node)) {
        if (!item->is_object() || !item->contains("Name")) continue;
        json value = json::object();
        if (auto it = item->find("Value"); it != item->end() && it->is_object()) {
          for (const char* field : {"StringValue", "BinaryValue", "DataType"}) {
            if (it->contains(field)) value[field] = TextOf(*it, field);
          }
        }
        out[TextOf(*item, "Name")] = std::move(value);
      }
      return out;
    }
    case Kind::kEntries: {
      json out = json::array();
      for (const json* item : Indexed(node)) out.push_back(Convert(*item));
      return out;
    }
  }
  return json();
}

json Convert(const json& tree) {
  json out = json::object();
  if (!tree.is_object()) return out;
  for (const auto& [key, node] : tree.items()) {
    const Rule* rule = nullptr;
    for (const Rule& candidate : kRules) {
      if (key == candidate.query_name) rule = &candidate;
    }
    if (rule) {
      out[rule->json_name] = ConvertMember(*rule, node);
    } else if (node.is_string()) {
      out[key] = node;
    }
  }
  return out;
}

// Members whose XML form differs from their JSON one: flattened lists and maps.
void WriteMembers(std::string& out, std::string_view action, const json& object);

void Open(std::string& out, std::string_view name) { out.append("<").append(name).append(">"); }
void Close(std::string& out, std::string_view name) { out.append("</").append(name).append(">"); }

void WriteScalar(std::string& out, std::string_view name, const json& value) {
  Open(out, name);
  if (value.is_string()) {
    out.append(XmlEscape(value.get_ref<const std::string&>()));
  } else if (!value.is_null()) {
    out.append(value.dump());
  }
  Close(out, name);
}

void WriteValue(std::string& out, std::string_view action, std::string_view name, const json& value) {
  if (value.is_object()) {
    Open(out, name);
    WriteMembers(out, action, value);
    Close(out, name);
  } else if (value.is_array()) {
    for (const json& item : value) WriteValue(out, action, name, item);
  } else {
    WriteScalar(out, name, value);
  }
}

void WritePairs(std::string& out, std::string_view element, std::string_view key_name, const json& map) {
  if (!map.is_object()) return;
  for (const auto& [key, value] : map.items()) {
    Open(out, element);
    WriteScalar(out, key_name, key);
    WriteScalar(out, "Value", value);
    Close(out, element);
  }
}

void WriteMembers(std::string& out, std::string_view action, const json& object) {
  for (const auto& [key, value] : object.items()) {
    if (key == "QueueUrls" || key == "queueUrls") {
      WriteValue(out, action, "QueueUrl", value);
    } else if (key == "Attributes") {
      WritePairs(out, "Attribute", "Name", value);
    } else if (key == "Tags") {
      WritePairs(out, "Tag", "Key", value);
    } else if (key == "Messages") {
      WriteValue(out, action, "Message", value);
    } else if (key == "MessageAttributes" && value.is_object()) {
      for (const auto& [name, attribute] : value.items()) {
        Open(out, "MessageAttribute");
        WriteScalar(out, "Name", name);
        WriteValue(out, action, "Value", attribute);
        Close(out, "MessageAttribute");
      }
    } else if (key == "Successful") {
      WriteValue(out, action, std::string(action) + "ResultEntry", value);
    } else if (key == "Failed") {
      WriteValue(out, action, "BatchResultErrorEntry", value);
    } else {
      WriteValue(out, action, key, value);
    }
  }
}

// Operations whose answer carries nothing but the request id.
const std::set<std::string_view> kNoResult = {
    "ChangeMessageVisibility", "DeleteMessage", "DeleteQueue", "PurgeQueue",
    "SetQueueAttributes",      "TagQueue",      "UntagQueue",  "AddPermission",
    "RemovePermission"};

void AppendCodePoint(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool DecodeForm(std::string_view text, FormParams& params) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = DecodeComponent(pair.substr(0, eq));
    auto value = DecodeComponent(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return false;
    params[std::move(*name)] = std::move(*value);
  }
  return true;
}

json QueryInput(std::string_view action, const FormParams& params) {
  json input = Convert(ParamTree(params));
  input.erase("Action");
  input.erase("Version");
  // CreateQueue alone spells its tag map in lower case in the JSON protocol.
  if (action == "CreateQueue" && input.contains("Tags")) {
    input["tags"] = std::move(input["Tags"]);
    input.erase("Tags");
  }
  return input;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out.append("&amp;");
          break;
        case '<':
          out.append("&lt;");
          break;
        case '>':
          out.append("&gt;");
          break;
        case '"':
          out.append("&quot;");
          break;
        case '\'':
          out.append("&apos;");
          break;
        case '\r':
          out.append("&#xD;");
          break;
        default:
          if (c < 0x20 && c != '\t' && c != '\n') {
            out.append("\xEF\xBF\xBD");
          } else {
            out.push_back(char(c));
          }
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: kept when it is well-formed UTF-8 of a character XML allows.
    int length = c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    uint32_t cp = length == 4 ? (c & 0x07) : length == 3 ? (c & 0x0F) : (c & 0x1F);
    bool valid = length > 0 && i + size_t(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + size_t(k)]);
      if ((next & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (valid) {
      uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
      valid = cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF;
    }
    if (valid) {
      AppendCodePoint(out, cp);
      i += size_t(length);
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

std::string XmlResponse(std::string_view action, const json& output, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\"?>";
  std::string root = std::string(action) + "Response";
  out.append("<").append(root).append(" xmlns=\"").append(kSqsXmlNamespace).append("\">");
  if (!kNoResult.contains(action)) {
    std::string result = std::string(action) + "Result";
    Open(out, result);
    if (output.is_object()) WriteMembers(out, action, output);
    Close(out, result);
  }
  out.append("<ResponseMetadata><RequestId>").append(XmlEscape(request_id)).append("</RequestId></ResponseMetadata>");
  Close(out, root);
  return out;
}

std::string XmlError(const SqsError& error, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"";
  out.append(kSqsXmlNamespace).append("\"><Error><Type>");
  out.append(error.sender_fault ? "Sender" : "Receiver");
  out.append("</Type><Code>").append(XmlEscape(error.code)).append("</Code><Message>");
  out.append(XmlEscape(error.message)).append("</Message><Detail/></Error><RequestId>");
  out.append(XmlEscape(request_id)).append("</RequestId></ErrorResponse>");
  return out;
}

}  // namespace lambent::sqs
