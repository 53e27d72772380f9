#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "async/queue_types.h"
#include "eventbridge/event_pattern.h"

namespace lambent::esm {

// Lambda's limit on a synchronous invocation's payload: a batch is cut to fit it.
constexpr size_t kMaxEventBytes = 6 * 1024 * 1024;

// The SQS event Lambda gives a function for a batch of messages.
struct SqsEvent {
  std::string payload;  // {"Records":[...]}
  size_t records = 0;   // how many of the messages it holds, from the first (at least one)
};

// Lambda's SQS event for `messages`, in order: each record's messageId, receiptHandle,
// body, attributes (ApproximateReceiveCount, SentTimestamp, SenderId,
// ApproximateFirstReceiveTimestamp, AWSTraceHeader when sent), messageAttributes,
// md5OfBody, md5OfMessageAttributes (null without attributes), eventSource,
// eventSourceARN and awsRegion. Records that would take the payload past `max_bytes` are
// left out (the first one never is); SqsEvent::records says how many went in. Messages not
// written through sqs::MessageMeta get an MD5 of their body and no attributes. Pure.
SqsEvent BuildSqsEvent(const std::vector<async::LeasedMessage>& messages,
                       std::string_view queue_arn, std::string_view region,
                       size_t max_bytes = kMaxEventBytes);

// FilterCriteria: a message runs when any of its patterns matches its record (as in the
// event, with a body that is a JSON object in its parsed form, as Lambda filters SQS
// messages). Immutable; thread-safe.
class RecordFilter {
 public:
  // Matches every message.
  RecordFilter() = default;
  // kInvalidArgument when a pattern is not an event pattern.
  static Result<RecordFilter> Parse(const std::vector<std::string>& patterns);

  bool empty() const { return patterns_.empty(); }
  bool Matches(const async::LeasedMessage& message, std::string_view queue_arn,
               std::string_view region) const;

 private:
  std::vector<eventbridge::EventPattern> patterns_;
};

// What a function that reports batch item failures said about its batch.
struct BatchResponse {
  bool all_failed = false;     // the response could not be read: nothing is deleted
  std::set<std::string> failed;  // message ids to leave for redelivery
};
// Reads a function's answer to a batch as Lambda does with ReportBatchItemFailures:
// {"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}. An empty answer, null, or no
// or an empty or null batchItemFailures list mean every message succeeded. Anything that
// is not such a document — invalid JSON, a list or a string, an entry without a non-empty
// itemIdentifier, an itemIdentifier that is not one of `batch_ids` — fails the whole
// batch. Pure.
BatchResponse ParseBatchResponse(std::string_view body, const std::set<std::string>& batch_ids);

}  // namespace lambent::esm
