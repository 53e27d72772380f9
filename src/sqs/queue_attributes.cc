#include "sqs/queue_attributes.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "base/json.h"
#include "sqs/sqs_message.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

// Settable attributes kept verbatim.
constexpr std::array<std::string_view, 5> kStored = {"Policy", "RedriveAllowPolicy", "KmsMasterKeyId",
                                                     "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"};
// Settable on FIFO queues only, kept verbatim, with their defaults.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kFifoStored = {
    {{"DeduplicationScope", "queue"}, {"FifoThroughputLimit", "perQueue"}}};
// Every attribute "All" answers, in SQS's order.
constexpr std::array<std::string_view, 21> kAll = {"ApproximateNumberOfMessages",
                                                   "ApproximateNumberOfMessagesDelayed",
                                                   "ApproximateNumberOfMessagesNotVisible",
                                                   "CreatedTimestamp",
                                                   "DelaySeconds",
                                                   "LastModifiedTimestamp",
                                                   "MaximumMessageSize",
                                                   "MessageRetentionPeriod",
                                                   "QueueArn",
                                                   "ReceiveMessageWaitTimeSeconds",
                                                   "VisibilityTimeout",
                                                   "RedrivePolicy",
                                                   "Policy",
                                                   "RedriveAllowPolicy",
                                                   "KmsMasterKeyId",
                                                   "KmsDataKeyReusePeriodSeconds",
                                                   "SqsManagedSseEnabled",
                                                   "FifoQueue",
                                                   "ContentBasedDeduplication",
                                                   "DeduplicationScope",
                                                   "FifoThroughputLimit"};

template <typename List>
bool Contains(const List& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

SqsError BadValue(std::string_view name) {
  return SqsError::InvalidAttributeValue(fmt::format("Invalid value for the parameter {}.", name));
}

Checked<int64_t> Seconds(std::string_view name, const std::string& value, int64_t min, int64_t max) {
  auto parsed = ParseInteger(value);
  if (!parsed || *parsed < min || *parsed > max) return tl::unexpected(BadValue(name));
  return *parsed;
}

SqsError BadRedrive(const std::string& value, std::string_view reason) {
  return SqsError::InvalidParameterValue(fmt::format("Value {} for parameter RedrivePolicy is invalid. Reason: {}",
                                                     ValidUtf8(value).substr(0, 512), reason));
}

Checked<void> ApplyRedrive(const std::string& value, const std::string& queue, const AttributeContext& context,
                           async::QueueOptions& options) {
  if (value.empty()) {  // SQS's way to remove the policy
    options.max_receive_count = 0;
    options.dead_letter_queue.clear();
    return {};
  }
  json policy = json::parse(value, nullptr, false);
  if (!policy.is_object()) return tl::unexpected(BadRedrive(value, "Redrive policy is not a valid JSON map."));
  auto target = policy.find("deadLetterTargetArn");
  auto count = policy.find("maxReceiveCount");
  if (target == policy.end() || !target->is_string() || count == policy.end()) {
    return tl::unexpected(BadRedrive(
        value, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn and maxReceiveCount."));
  }
  std::optional<int64_t> receives;
  if (count->is_number_integer()) receives = count->get<int64_t>();
  if (count->is_string()) receives = ParseInteger(count->get<std::string>());
  if (!receives || *receives < 1 || *receives > 1000) {
    return tl::unexpected(BadRedrive(value, "Invalid value for maxReceiveCount: must be an integer from 1 to 1000."));
  }
  auto name = QueueNameFromArn(target->get<std::string>(), context.region, context.account_id);
  if (!name || !context.queue_exists(*name)) {
    return tl::unexpected(BadRedrive(value, "Dead letter target does not exist."));
  }
  if (name->ends_with(".fifo") != options.fifo) {
    return tl::unexpected(BadRedrive(value, "Dead-letter queue must be same type of queue as the source."));
  }
  if (*name == queue) return tl::unexpected(BadRedrive(value, "Dead letter target cannot be the queue itself."));
  options.max_receive_count = int(*receives);
  options.dead_letter_queue = *name;
  return {};
}

bool IsFifoStored(std::string_view name) {
  for (const auto& [key, fallback] : kFifoStored) {
    if (key == name) return true;
  }
  return false;
}

}  // namespace

std::string QueueMetadata::ToJson() const {
  json doc{{"created", created_s}, {"modified", modified_s}, {"wait", receive_wait_s}, {"max_size", max_message_bytes}};
  if (content_based_dedup) doc["content_dedup"] = true;
  if (!tags.empty()) doc["tags"] = tags;
  if (!stored.empty()) doc["stored"] = stored;
  return DumpJson(doc);
}

QueueMetadata QueueMetadata::FromJson(std::string_view text) {
  QueueMetadata metadata;
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return metadata;
  auto number = [&doc](const char* key, int64_t fallback) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
  };
  metadata.created_s = number("created", 0);
  metadata.modified_s = number("modified", metadata.created_s);
  metadata.receive_wait_s = number("wait", 0);
  metadata.max_message_bytes = number("max_size", 262144);
  auto dedup = doc.find("content_dedup");
  metadata.content_based_dedup = dedup != doc.end() && dedup->is_boolean() && dedup->get<bool>();
  for (const char* key : {"tags", "stored"}) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_object()) continue;
    auto& target = std::string_view(key) == "tags" ? metadata.tags : metadata.stored;
    for (const auto& [name, value] : it->items()) {
      if (value.is_string()) target[name] = value.get<std::string>();
    }
  }
  return metadata;
}

Checked<void> ApplyAttributes(const json& attributes, const std::string& queue, const AttributeContext& context,
                              QueueSettings& settings, bool creating) {
  QueueSettings next = settings;
  // FifoQueue first: what else is allowed depends on it.
  if (auto it = attributes.find("FifoQueue"); it != attributes.end()) {
    if (!it->is_string() || (*it != "true" && *it != "false")) return tl::unexpected(BadValue("FifoQueue"));
    bool fifo = *it == "true";
    if (fifo != next.options.fifo && !creating) return tl::unexpected(BadValue("FifoQueue"));
    next.options.fifo = fifo;
  }
  const std::string* redrive = nullptr;
  for (const auto& [name, raw] : attributes.items()) {
    if (!raw.is_string()) return tl::unexpected(BadValue(name));
    const std::string& value = raw.get_ref<const std::string&>();
    if (name == "VisibilityTimeout") {
      auto s = Seconds(name, value, 0, 43200);
      if (!s) return tl::unexpected(s.error());
      next.options.visibility_timeout_ms = *s * 1000;
    } else if (name == "MessageRetentionPeriod") {
      auto s = Seconds(name, value, 60, 1209600);
      if (!s) return tl::unexpected(s.error());
      next.options.retention_ms = *s * 1000;
    } else if (name == "DelaySeconds") {
      auto s = Seconds(name, value, 0, 900);
      if (!s) return tl::unexpected(s.error());
      next.options.delay_ms = *s * 1000;
    } else if (name == "ReceiveMessageWaitTimeSeconds") {
      auto s = Seconds(name, value, 0, 20);
      if (!s) return tl::unexpected(s.error());
      next.metadata.receive_wait_s = *s;
    } else if (name == "MaximumMessageSize") {
      auto s = Seconds(name, value, 1024, int64_t(kMaxMessageBytes));
      if (!s) return tl::unexpected(s.error());
      next.metadata.max_message_bytes = *s;
    } else if (name == "RedrivePolicy") {
      redrive = &value;  // once the queue's kind is known
    } else if (name == "FifoQueue") {
      // Applied above.
    } else if (name == "ContentBasedDeduplication" && next.options.fifo) {
      if (value != "true" && value != "false") return tl::unexpected(BadValue(name));
      next.metadata.content_based_dedup = value == "true";
    } else if (IsFifoStored(name) && next.options.fifo) {
      bool known = name == "DeduplicationScope" ? (value == "queue" || value == "messageGroup")
                                                : (value == "perQueue" || value == "perMessageGroupId");
      if (!known) return tl::unexpected(BadValue(name));
      next.metadata.stored[name] = value;
    } else if (Contains(kStored, name)) {
      if (value.empty()) {
        next.metadata.stored.erase(name);
      } else {
        next.metadata.stored[name] = value;
      }
    } else {
      return tl::unexpected(SqsError::InvalidAttributeName(ValidUtf8(name).substr(0, 256)));
    }
  }
  if (redrive) {
    if (auto ok = ApplyRedrive(*redrive, queue, context, next.options); !ok) return ok;
  }
  settings = std::move(next);
  return {};
}

Checked<json> ReadAttributes(const std::vector<std::string>& names, const std::string& queue,
                             const AttributeContext& context, const QueueSettings& settings,
                             const async::QueueStats& stats) {
  std::vector<std::string_view> wanted;
  for (const std::string& name : names) {
    if (name == "All") {
      wanted.assign(kAll.begin(), kAll.end());
      break;
    }
    if (!Contains(kAll, name)) {
      return tl::unexpected(SqsError::InvalidAttributeName(ValidUtf8(name).substr(0, 256)));
    }
    wanted.push_back(name);
  }
  const async::QueueOptions& options = settings.options;
  const QueueMetadata& metadata = settings.metadata;
  json out = json::object();
  for (std::string_view name : wanted) {
    std::string key(name);
    if (name == "ApproximateNumberOfMessages") {
      out[key] = std::to_string(stats.visible);
    } else if (name == "ApproximateNumberOfMessagesNotVisible") {
      out[key] = std::to_string(stats.in_flight);
    } else if (name == "ApproximateNumberOfMessagesDelayed") {
      out[key] = std::to_string(stats.delayed);
    } else if (name == "CreatedTimestamp") {
      out[key] = std::to_string(metadata.created_s);
    } else if (name == "LastModifiedTimestamp") {
      out[key] = std::to_string(metadata.modified_s);
    } else if (name == "DelaySeconds") {
      out[key] = std::to_string(options.delay_ms / 1000);
    } else if (name == "MaximumMessageSize") {
      out[key] = std::to_string(metadata.max_message_bytes);
    } else if (name == "MessageRetentionPeriod") {
      out[key] = std::to_string(options.retention_ms / 1000);
    } else if (name == "QueueArn") {
      out[key] = QueueArn(context.region, context.account_id, queue);
    } else if (name == "ReceiveMessageWaitTimeSeconds") {
      out[key] = std::to_string(metadata.receive_wait_s);
    } else if (name == "VisibilityTimeout") {
      out[key] = std::to_string(options.visibility_timeout_ms / 1000);
    } else if (name == "RedrivePolicy") {
      if (options.max_receive_count > 0 && !options.dead_letter_queue.empty()) {
        json policy{{"deadLetterTargetArn", QueueArn(context.region, context.account_id, options.dead_letter_queue)},
                    {"maxReceiveCount", options.max_receive_count}};
        out[key] = DumpJson(policy);
      }
    } else if (name == "FifoQueue") {
      if (options.fifo) out[key] = "true";
    } else if (name == "ContentBasedDeduplication") {
      if (options.fifo) out[key] = metadata.content_based_dedup ? "true" : "false";
    } else if (IsFifoStored(name)) {
      if (!options.fifo) continue;
      auto it = metadata.stored.find(key);
      for (const auto& [fifo_key, fallback] : kFifoStored) {
        if (fifo_key == name) out[key] = it != metadata.stored.end() ? it->second : std::string(fallback);
      }
    } else if (name == "SqsManagedSseEnabled") {
      auto it = metadata.stored.find(key);
      out[key] = it != metadata.stored.end() ? it->second : "false";
    } else if (auto it = metadata.stored.find(key); it != metadata.stored.end()) {
      out[key] = it->second;
    }
  }
  return out;
}

}  // namespace lambent::sqs
