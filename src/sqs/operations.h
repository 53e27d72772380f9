#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "async/queue_engine.h"
#include "sqs/long_poll.h"
#include "sqs/message_codec.h"
#include "sqs/queue_attributes.h"
#include "sqs/sqs_error.h"

namespace lambent::sqs {

// Where one request came from, as far as the operations care.
struct RequestContext {
  // Scheme and authority clients reached the daemon with, for queue URLs ("http://host:port").
  std::string base_url;
  // The queue named by the request's path (a query-protocol call posted to a queue URL).
  std::string path_queue;
  // Whether the client still waits for the answer: a long poll that wakes to a closed
  // connection must not lease messages nobody will see.
  std::function<bool()> still_wanted;
};

// SQS's operations, independent of the wire protocol: each reads the JSON protocol's input
// document and answers its output document (or an SqsError). Lives on the io thread: Run
// must be called there, and `done` is called there exactly once (perhaps before Run returns).
class Operations {
 public:
  using Done = std::function<void(Outcome)>;

  Operations(boost::asio::io_context& io, async::QueueEngine& engine, std::string region, std::string account_id);

  // InvalidAction for an operation SQS does not have or lambent does not serve.
  void Run(const std::string& operation, const nlohmann::json& input, const RequestContext& context, Done done);
  // Answers parked long polls (with no messages) and parks no more.
  void Stop();

 private:
  struct Queue {
    std::string name;
    QueueSettings settings;
  };
  Checked<Queue> FindQueue(const std::string& name);
  Checked<Queue> ResolveQueue(const nlohmann::json& input, const RequestContext& context);
  AttributeContext Attributes();
  std::string Url(const RequestContext& context, const std::string& queue) const;
  Checked<void> Save(const Queue& queue);
  // What a message sent to `queue` now must follow, with its sequence number.
  SendRules RulesFor(const Queue& queue);

  // queue_operations.cc
  Outcome CreateQueue(const nlohmann::json& input, const RequestContext& context);
  Outcome GetQueueUrl(const nlohmann::json& input, const RequestContext& context);
  Outcome ListQueues(const nlohmann::json& input, const RequestContext& context);
  Outcome GetQueueAttributes(const nlohmann::json& input, const RequestContext& context);
  Outcome SetQueueAttributes(const nlohmann::json& input, const RequestContext& context);
  Outcome DeleteQueue(const nlohmann::json& input, const RequestContext& context);
  Outcome PurgeQueue(const nlohmann::json& input, const RequestContext& context);
  Outcome TagQueue(const nlohmann::json& input, const RequestContext& context);
  Outcome UntagQueue(const nlohmann::json& input, const RequestContext& context);
  Outcome ListQueueTags(const nlohmann::json& input, const RequestContext& context);
  Outcome ListDeadLetterSourceQueues(const nlohmann::json& input, const RequestContext& context);

  // message_operations.cc
  void SendMessage(const nlohmann::json& input, const RequestContext& context, Done done);
  void SendMessageBatch(const nlohmann::json& input, const RequestContext& context, Done done);
  void ReceiveMessage(const nlohmann::json& input, const RequestContext& context, Done done);
  Outcome DeleteMessage(const nlohmann::json& input, const RequestContext& context);
  Outcome DeleteMessageBatch(const nlohmann::json& input, const RequestContext& context);
  Outcome ChangeMessageVisibility(const nlohmann::json& input, const RequestContext& context);
  Outcome ChangeMessageVisibilityBatch(const nlohmann::json& input, const RequestContext& context);

  boost::asio::io_context& io_;
  async::QueueEngine& engine_;
  std::string region_;
  std::string account_id_;
  LongPolls polls_;
  // FIFO sequence numbers: epoch microseconds scaled, so they keep increasing across restarts.
  uint64_t last_sequence_ = 0;
};

// Checks a batch's entries as SQS does before looking at any of them: EmptyBatchRequest,
// TooManyEntriesInBatchRequest, InvalidBatchEntryId, BatchEntryIdsNotDistinct.
Checked<const nlohmann::json*> BatchEntries(const nlohmann::json& input);

}  // namespace lambent::sqs
