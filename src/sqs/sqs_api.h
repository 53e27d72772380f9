#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "async/queue_engine.h"
#include "http/server.h"

namespace lambent::sqs {

struct SqsApiOptions {
  std::string region;
  std::string account_id;
};

// The SQS-compatible API, served on the daemon's own endpoint in both wire protocols: the
// query protocol (form-encoded Action=..., XML answers) and the JSON protocol
// (`X-Amz-Target: AmazonSQS.<Operation>`, application/x-amz-json-1.0). Queues are the
// queue engine's queues; message metadata is MessageMeta. Runs on the io thread: the
// engine never blocks, and long polls park on WatchVisible, not on a thread.
class SqsApi {
 public:
  SqsApi(boost::asio::io_context& io, async::QueueEngine& engine, SqsApiOptions options);
  SqsApi(const SqsApi&) = delete;
  SqsApi& operator=(const SqsApi&) = delete;
  ~SqsApi();

  // Whether a request is an SQS call (by its target header, or a form-encoded POST / GET
  // with Action= to "/" or a queue URL's path). The Lambda API never looks like either.
  static bool Claims(const http::RequestHeader& header);
  // The largest request body an SQS call may have.
  uint64_t BodyLimit() const;
  // The answer to a call whose body was over BodyLimit, in the call's own protocol.
  static http::Response Reject(const http::RequestHeader& header, uint64_t limit);
  // Answers through `respond`; never throws.
  void Handle(http::Request request, http::Responder respond);
  // Answers every parked long poll (with no messages) and parks no more: for shutdown.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lambent::sqs
