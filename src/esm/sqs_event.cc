#include "esm/sqs_event.h"

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/json.h"
#include "sqs/sqs_message.h"

namespace lambent::esm {

using nlohmann::json;

namespace {

json AttributeJson(const sqs::AttributeValue& value) {
  json out{{"stringListValues", json::array()}, {"binaryListValues", json::array()},
           {"dataType", value.data_type}};
  if (value.IsBinary()) {
    out["binaryValue"] = Base64Encode(value.value);
  } else {
    out["stringValue"] = value.value;
  }
  return out;
}

json RecordJson(const async::LeasedMessage& leased, std::string_view queue_arn,
                std::string_view region) {
  const async::Message& m = leased.message;
  auto meta = sqs::MessageMeta::FromEngineAttributes(m.attributes);
  if (!meta) {
    meta.emplace();
    meta->md5_of_body = sqs::Md5Hex(m.body);
  }
  json attributes{{"ApproximateReceiveCount", std::to_string(m.receive_count)},
                  {"SentTimestamp", std::to_string(m.enqueued_ms)},
                  {"SenderId", meta->sender_id},
                  {"ApproximateFirstReceiveTimestamp",
                   std::to_string(m.first_receive_ms > 0 ? m.first_receive_ms : m.enqueued_ms)}};
  if (!m.group_id.empty()) {
    attributes["SequenceNumber"] = std::to_string(m.seq);
    attributes["MessageGroupId"] = m.group_id;
    if (!m.dedup_id.empty()) attributes["MessageDeduplicationId"] = m.dedup_id;
  }
  if (auto trace = meta->system_attributes.find("AWSTraceHeader");
      trace != meta->system_attributes.end()) {
    attributes["AWSTraceHeader"] = trace->second.value;
  }
  json message_attributes = json::object();
  for (const auto& [name, value] : meta->attributes) message_attributes[name] = AttributeJson(value);
  return json{{"messageId", m.id},
              {"receiptHandle", leased.receipt},
              {"body", m.body},
              {"attributes", std::move(attributes)},
              {"messageAttributes", std::move(message_attributes)},
              {"md5OfBody", meta->md5_of_body},
              {"md5OfMessageAttributes",
               meta->attributes.empty() ? json(nullptr) : json(meta->md5_of_attributes)},
              {"eventSource", "aws:sqs"},
              {"eventSourceARN", queue_arn},
              {"awsRegion", region}};
}

}  // namespace

SqsEvent BuildSqsEvent(const std::vector<async::LeasedMessage>& messages,
                       std::string_view queue_arn, std::string_view region, size_t max_bytes) {
  SqsEvent event;
  event.payload = "{\"Records\":[";
  for (const auto& leased : messages) {
    std::string record = DumpJson(RecordJson(leased, queue_arn, region));
    size_t needed = record.size() + (event.records > 0 ? 1 : 0) + 2;  // comma, "]}"
    if (event.records > 0 && event.payload.size() + needed > max_bytes) break;
    if (event.records > 0) event.payload += ',';
    event.payload += record;
    ++event.records;
  }
  event.payload += "]}";
  return event;
}

Result<RecordFilter> RecordFilter::Parse(const std::vector<std::string>& patterns) {
  RecordFilter filter;
  for (const auto& text : patterns) {
    auto pattern = eventbridge::EventPattern::Parse(text);
    if (!pattern) return tl::unexpected(pattern.error());
    filter.patterns_.push_back(std::move(*pattern));
  }
  return filter;
}

bool RecordFilter::Matches(const async::LeasedMessage& message, std::string_view queue_arn,
                           std::string_view region) const {
  if (patterns_.empty()) return true;
  json record = RecordJson(message, queue_arn, region);
  // A body too deep to parse cheaply stays a string: only patterns on the text match it.
  if (!JsonNestsDeeperThan(message.message.body, 64)) {
    json body = json::parse(message.message.body, nullptr, false);
    if (body.is_object()) record["body"] = std::move(body);
  }
  for (const auto& pattern : patterns_) {
    if (pattern.Matches(record)) return true;
  }
  return false;
}

BatchResponse ParseBatchResponse(std::string_view body, const std::set<std::string>& batch_ids) {
  BatchResponse all_failed{.all_failed = true};
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  if (JsonNestsDeeperThan(body, 64)) return all_failed;
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return all_failed;
  if (doc.is_null()) return {};
  if (!doc.is_object()) return all_failed;
  auto list = doc.find("batchItemFailures");
  if (list == doc.end() || list->is_null()) return {};
  if (!list->is_array()) return all_failed;
  BatchResponse out;
  for (const auto& entry : *list) {
    if (!entry.is_object()) return all_failed;
    auto id = entry.find("itemIdentifier");
    if (id == entry.end() || !id->is_string()) return all_failed;
    auto text = id->get<std::string>();
    if (text.empty() || !batch_ids.contains(text)) return all_failed;
    out.failed.insert(std::move(text));
  }
  return out;
}

}  // namespace lambent::esm
