#pragma once

#include <cstdint>
#include <string>

#include "async/queue_types.h"

namespace lambent::async {

// One change to the durable state of the queues. The engine makes the change in memory and
// hands the record to the journal under the same lock, so the journal replays the changes
// in the order memory saw them. Plain data.
struct JournalRecord {
  enum class Kind {
    kPutQueue,     // queue, options: create or replace a queue
    kDeleteQueue,  // queue: the queue and its messages
    kPurge,        // queue: its messages
    kInsert,       // queue, seq, message, visible_at_ms, generation: an append
    kDelete,       // seq: an ack or an expiry
    kLeased,       // seq, receive_count, first_receive_ms
    kRequeue,      // seq, visible_at_ms: a retry after a delay
    kMove,         // seq, queue (the target), visible_at_ms: a redrive to a dead-letter queue
  };

  Kind kind = Kind::kDelete;
  std::string queue;
  QueueOptions options;
  uint64_t seq = 0;
  Message message;
  int64_t visible_at_ms = 0;
  int receive_count = 0;
  int64_t first_receive_ms = 0;
  // The queue's generation when the message was appended: it is published into the queue
  // after the commit only if the queue was neither purged nor re-created meanwhile.
  uint64_t generation = 0;
};

}  // namespace lambent::async
