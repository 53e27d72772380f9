#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "async/queue_types.h"
#include "sqs/request_input.h"

namespace lambent::sqs {

// What an SQS queue keeps that the queue engine does not use, stored as the engine queue's
// QueueOptions::metadata (JSON). Plain data.
struct QueueMetadata {
  int64_t created_s = 0;
  int64_t modified_s = 0;
  int64_t receive_wait_s = 0;          // ReceiveMessageWaitTimeSeconds
  int64_t max_message_bytes = 262144;  // MaximumMessageSize
  bool content_based_dedup = false;    // FIFO: ContentBasedDeduplication
  std::map<std::string, std::string> tags;
  // Attributes kept as given and answered back: Policy, RedriveAllowPolicy, KMS settings,
  // FIFO's DeduplicationScope and FifoThroughputLimit.
  std::map<std::string, std::string> stored;

  std::string ToJson() const;
  // Defaults for a queue that has none (made inside the daemon, or by an older version).
  static QueueMetadata FromJson(std::string_view text);
};

// A queue's settings as SQS names them, split between the engine's options and the metadata.
struct QueueSettings {
  async::QueueOptions options;
  QueueMetadata metadata;
};

// What attributes need to know beyond the queue itself.
struct AttributeContext {
  std::string region;
  std::string account_id;
  // Whether a user queue of this name exists (a redrive policy's target must).
  std::function<bool(const std::string&)> queue_exists;
};

// Applies CreateQueue's or SetQueueAttributes' `attributes` (a map of strings) to `settings`,
// all or nothing: InvalidAttributeName for an unknown or read-only name,
// InvalidAttributeValue for a value out of SQS's range, InvalidParameterValue for a bad
// redrive policy. `queue` is the queue being changed (it cannot be its own DLQ). FifoQueue
// may be set only when `creating`; a queue's dead-letter queue is of its own kind.
Checked<void> ApplyAttributes(const nlohmann::json& attributes, const std::string& queue,
                              const AttributeContext& context, QueueSettings& settings, bool creating = false);

// GetQueueAttributes: the values of `names` ("All" for every one); attributes the queue does
// not have (no redrive policy, say) are left out. InvalidAttributeName for an unknown name.
Checked<nlohmann::json> ReadAttributes(const std::vector<std::string>& names, const std::string& queue,
                                       const AttributeContext& context, const QueueSettings& settings,
                                       const async::QueueStats& stats);

}  // namespace lambent::sqs
