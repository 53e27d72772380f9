// The operations on queues themselves (see operations.h).
#include <chrono>

#include "base/encoding.h"
#include "base/json.h"
#include "sqs/operations.h"
#include "sqs/sqs_message.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One page of `names` (sorted) after the page token, as ListQueues answers: "QueueUrls" (or
// `member`) and a NextToken when MaxResults cut the list short.
Outcome Page(const std::vector<std::string>& names, const json& input, const char* member,
             const std::function<std::string(const std::string&)>& url) {
  auto max = OptionalInt(input, "MaxResults", 1, 1000);
  if (!max) return tl::unexpected(max.error());
  auto token = OptionalString(input, "NextToken");
  if (!token) return tl::unexpected(token.error());
  std::string after;
  if (*token && !(*token)->empty()) {
    auto decoded = Base64Decode(**token);
    if (!decoded) return tl::unexpected(SqsError::InvalidParameterValue("Invalid NextToken value."));
    after = *decoded;
  }
  size_t limit = *max ? size_t(**max) : 1000;
  json urls = json::array();
  std::string last;
  bool more = false;
  for (const std::string& name : names) {
    if (!after.empty() && name <= after) continue;
    if (urls.size() == limit) {
      more = true;
      break;
    }
    urls.push_back(url(name));
    last = name;
  }
  json out = json::object();
  if (!urls.empty()) out[member] = std::move(urls);
  if (more && *max) out["NextToken"] = Base64Encode(last);
  return out;
}

}  // namespace

Outcome Operations::CreateQueue(const json& input, const RequestContext& context) {
  auto name = RequiredString(input, "QueueName");
  if (!name) return tl::unexpected(name.error());
  auto attributes = StringMap(input, "Attributes");
  if (!attributes) return tl::unexpected(attributes.error());
  auto tags = StringMap(input, "tags");
  if (!tags) return tl::unexpected(tags.error());
  if (!IsValidQueueName(*name)) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"));
  }
  QueueSettings wanted;
  if (auto ok = ApplyAttributes(*attributes, *name, Attributes(), wanted, true); !ok) {
    return tl::unexpected(ok.error());
  }
  if (wanted.options.fifo != name->ends_with(".fifo")) {
    return tl::unexpected(SqsError::InvalidParameterValue(
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end "
        "with .fifo suffix and be 1 to 80 in length. A FIFO queue needs the attribute FifoQueue=true."));
  }

  if (auto existing = FindQueue(*name)) {
    // Idempotent when every attribute given has the value the queue has.
    std::vector<std::string> names;
    for (const auto& [key, value] : attributes->items()) names.push_back(key);
    async::QueueStats none;
    auto have = ReadAttributes(names, *name, Attributes(), existing->settings, none);
    auto want = ReadAttributes(names, *name, Attributes(), wanted, none);
    if (!have || !want || *have != *want) return tl::unexpected(SqsError::QueueNameExists(*name));
    return json{{"QueueUrl", Url(context, *name)}};
  }
  wanted.metadata.created_s = wanted.metadata.modified_s = NowSeconds();
  for (const auto& [key, value] : tags->items()) wanted.metadata.tags[key] = value.get<std::string>();
  async::QueueOptions options = wanted.options;
  options.metadata = wanted.metadata.ToJson();
  if (auto ok = engine_.CreateQueue(*name, options); !ok) {
    if (ok.error().code() == ErrorCode::kConflict) return tl::unexpected(SqsError::QueueNameExists(*name));
    return tl::unexpected(SqsError::FromEngine(ok.error()));
  }
  return json{{"QueueUrl", Url(context, *name)}};
}

Outcome Operations::GetQueueUrl(const json& input, const RequestContext& context) {
  auto name = RequiredString(input, "QueueName");
  if (!name) return tl::unexpected(name.error());
  auto queue = FindQueue(*name);
  if (!queue) return tl::unexpected(queue.error());
  return json{{"QueueUrl", Url(context, queue->name)}};
}

Outcome Operations::ListQueues(const json& input, const RequestContext& context) {
  auto prefix = OptionalString(input, "QueueNamePrefix");
  if (!prefix) return tl::unexpected(prefix.error());
  std::vector<std::string> names;
  for (std::string& name : engine_.ListQueues()) {
    if (!IsValidQueueName(name)) continue;
    if (*prefix && !name.starts_with(**prefix)) continue;
    names.push_back(std::move(name));
  }
  return Page(names, input, "QueueUrls", [&](const std::string& name) { return Url(context, name); });
}

Outcome Operations::GetQueueAttributes(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto names = StringList(input, "AttributeNames");
  if (!names) return tl::unexpected(names.error());
  auto stats = engine_.Stats(queue->name);
  if (!stats) return tl::unexpected(SqsError::FromEngine(stats.error()));
  auto attributes = ReadAttributes(*names, queue->name, Attributes(), queue->settings, *stats);
  if (!attributes) return tl::unexpected(attributes.error());
  json out = json::object();
  if (!attributes->empty()) out["Attributes"] = std::move(*attributes);
  return out;
}

Outcome Operations::SetQueueAttributes(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto attributes = StringMap(input, "Attributes");
  if (!attributes) return tl::unexpected(attributes.error());
  if (!input.contains("Attributes")) return tl::unexpected(SqsError::MissingParameter("Attributes"));
  if (auto ok = ApplyAttributes(*attributes, queue->name, Attributes(), queue->settings); !ok) {
    return tl::unexpected(ok.error());
  }
  queue->settings.metadata.modified_s = NowSeconds();
  if (auto ok = Save(*queue); !ok) return tl::unexpected(ok.error());
  return json::object();
}

Outcome Operations::DeleteQueue(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  if (auto ok = engine_.DeleteQueue(queue->name); !ok) return tl::unexpected(SqsError::FromEngine(ok.error()));
  return json::object();
}

Outcome Operations::PurgeQueue(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  if (auto ok = engine_.Purge(queue->name); !ok) return tl::unexpected(SqsError::FromEngine(ok.error()));
  return json::object();
}

Outcome Operations::TagQueue(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto tags = StringMap(input, "Tags");
  if (!tags) return tl::unexpected(tags.error());
  if (tags->empty()) return tl::unexpected(SqsError::MissingParameter("Tags"));
  for (const auto& [key, value] : tags->items()) queue->settings.metadata.tags[key] = value.get<std::string>();
  if (queue->settings.metadata.tags.size() > 50) {
    return tl::unexpected(SqsError::InvalidParameterValue("Too many tags added for queue " + queue->name + "."));
  }
  if (auto ok = Save(*queue); !ok) return tl::unexpected(ok.error());
  return json::object();
}

Outcome Operations::UntagQueue(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  auto keys = StringList(input, "TagKeys");
  if (!keys) return tl::unexpected(keys.error());
  if (keys->empty()) return tl::unexpected(SqsError::MissingParameter("TagKeys"));
  for (const std::string& key : *keys) queue->settings.metadata.tags.erase(key);
  if (auto ok = Save(*queue); !ok) return tl::unexpected(ok.error());
  return json::object();
}

Outcome Operations::ListQueueTags(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  json out = json::object();
  if (!queue->settings.metadata.tags.empty()) out["Tags"] = queue->settings.metadata.tags;
  return out;
}

Outcome Operations::ListDeadLetterSourceQueues(const json& input, const RequestContext& context) {
  auto queue = ResolveQueue(input, context);
  if (!queue) return tl::unexpected(queue.error());
  std::vector<std::string> sources;
  for (std::string& name : engine_.ListQueues()) {
    if (!IsValidQueueName(name)) continue;
    auto options = engine_.GetQueueOptions(name);
    if (options && options->max_receive_count > 0 && options->dead_letter_queue == queue->name) {
      sources.push_back(std::move(name));
    }
  }
  auto out = Page(sources, input, "queueUrls", [&](const std::string& name) { return Url(context, name); });
  // The member is required in SQS's answer, even when empty.
  if (out && !out->contains("queueUrls")) (*out)["queueUrls"] = json::array();
  return out;
}

}  // namespace lambent::sqs
