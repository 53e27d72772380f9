#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "async/queue_types.h"
#include "base/error.h"

namespace lambent::async {

// Named durable queues of opaque messages with at-least-once delivery: append, lease with a
// visibility timeout, acknowledge, retry after a delay, expiry by age, redrive to a
// dead-letter queue. Async invocations, destinations, DLQs, the SQS-compatible API and
// event source mappings all sit on it. The embedded implementation is SqliteQueueEngine;
// the interface is kept to what a NATS JetStream stream with work-queue retention can also
// do (see README.md), so that a cluster can swap it in.
//
// Contract for every implementation:
// - Thread-safe. No method waits for a disk or the network: writes are acknowledged
//   through a Completion, and every other call answers from memory. The io thread may call
//   any method.
// - A message is leasable only once its append is durable; its Completion then reports
//   success. After that it is delivered at least once until acknowledged, dropped by age,
//   purged, or moved to its dead-letter queue.
// - Acks, retries and queue changes are made durable with the next commit but nobody waits
//   for them: a crash may forget the last few milliseconds of them, so a message acked just
//   before a crash may be delivered again. Call Flush to wait for them.
// - Leases do not outlive the engine: after a restart every leased message is visible.
// - Errors: kNotFound (unknown queue; a receipt whose lease has ended), kInvalidArgument
//   (malformed receipt or options), kConflict (CreateQueue of an existing queue with other
//   options), kTooManyRequests (the write backlog is full), kSystem (the store failed).
class QueueEngine {
 public:
  using WatchId = uint64_t;

  virtual ~QueueEngine() = default;

  // Creates a queue; succeeds without change when it exists with the same options.
  virtual Result<void> CreateQueue(const std::string& name, const QueueOptions& options) = 0;
  // Replaces a queue's options; leases already handed out keep their deadlines.
  virtual Result<void> SetQueueOptions(const std::string& name, const QueueOptions& options) = 0;
  virtual Result<QueueOptions> GetQueueOptions(const std::string& name) = 0;
  // Every queue's name, sorted.
  virtual std::vector<std::string> ListQueues() = 0;
  // Drops the queue and its messages; their receipts become stale.
  virtual Result<void> DeleteQueue(const std::string& name) = 0;
  // Drops every message of the queue, appends not yet durable included.
  virtual Result<void> Purge(const std::string& name) = 0;

  // Appends messages (a batch is one write) and returns their ids at once, in order.
  // `completion` is called exactly once if this returns ids, never if it returns an error:
  // with success once all of them are durable and leasable, or with the store's error (then
  // none of them was kept).
  virtual Result<std::vector<std::string>> Append(const std::string& queue,
                                                  std::vector<NewMessage> messages,
                                                  Completion completion) = 0;
  // Leases up to `max_messages` visible messages, oldest visible first, each for
  // `visibility_timeout_ms` (negative: the queue's default): each one's receive count goes
  // up by one and it gets a fresh receipt. Messages over the queue's max_receive_count move
  // to its dead-letter queue instead (when that queue exists; the move keeps the id and the
  // enqueue time and starts the receive count afresh); messages past retention are dropped. Returns
  // at once, possibly with none: use WatchVisible to wait.
  virtual Result<std::vector<LeasedMessage>> Lease(const std::string& queue, int max_messages,
                                                   int64_t visibility_timeout_ms = -1) = 0;
  // Acknowledges (deletes) the leased message.
  virtual Result<void> Ack(const std::string& queue, std::string_view receipt) = 0;
  // Moves the lease's deadline to `timeout_ms` from now; the receipt stays valid. 0 ends the
  // lease: the message is visible again at once. Not durable: see Retry.
  virtual Result<void> ChangeVisibility(const std::string& queue, std::string_view receipt,
                                        int64_t timeout_ms) = 0;
  // Ends the lease and makes the message visible again `delay_ms` from now: a retry with
  // backoff. Unlike a lease, the delay survives a restart.
  virtual Result<void> Retry(const std::string& queue, std::string_view receipt,
                             int64_t delay_ms) = 0;
  virtual Result<QueueStats> Stats(const std::string& queue) = 0;

  // Calls `fn` through `post`, once, when `queue` has a visible message (at once if it has
  // one now), so that pollers and long polls need not spin. Another consumer may lease the
  // message first: `fn` is a hint to call Lease. The watch ends when it fires, when
  // cancelled, or when the queue is deleted (then it fires too, and Lease says kNotFound).
  virtual Result<WatchId> WatchVisible(const std::string& queue, Poster post,
                                       std::function<void()> fn) = 0;
  // Ends a watch that has not fired; a no-op otherwise. `fn` may still run afterwards if it
  // had already been handed to its Poster.
  virtual void CancelWatch(WatchId id) = 0;

  // Calls `completion` once every write made before this call is durable.
  virtual void Flush(Completion completion) = 0;
};

}  // namespace lambent::async
