#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/error.h"

namespace lambent::async {

// How much of the machine's failure a write acknowledged by the engine survives.
enum class Durability {
  // Committed to the engine's own files before acknowledging, without waiting for the disk:
  // survives the daemon crashing or being SIGKILLed at any instant, not a kernel panic or a
  // power cut. The default: a disk sync per batch would cap throughput on cheap disks.
  kProcess,
  // Synced to the disk (fsync) before acknowledging: survives power loss too.
  kPowerLoss,
};

// A queue's settings. Plain data; copyable.
struct QueueOptions {
  // How long a leased message stays invisible when the lease does not say (SQS default 30 s).
  int64_t visibility_timeout_ms = 30'000;
  // Messages older than this (since their first append) are dropped (SQS default 4 days).
  int64_t retention_ms = 4ll * 24 * 3600 * 1000;
  // How long a new message stays invisible when its append does not say.
  int64_t delay_ms = 0;
  // Redrive: a message received this many times moves to `dead_letter_queue` at the next
  // lease attempt instead of being delivered again. 0: never.
  int max_receive_count = 0;
  std::string dead_letter_queue;
  // FIFO: messages of one group_id are delivered in append order, one batch of a group at
  // a time; a dedup_id seen in the last 5 minutes is not appended again. Fixed at creation.
  bool fifo = false;
  // Opaque to the engine, stored with the queue: what the API above keeps per queue that the
  // engine does not use (SQS's creation time, tags, policy, long-poll default...), as JSON.
  std::string metadata;

  bool operator==(const QueueOptions&) const = default;
};

// What a producer appends. Plain data.
struct NewMessage {
  std::string body;  // opaque bytes
  // Opaque to the engine, stored and returned as given (e.g. a JSON object of SQS message
  // attributes, or Lambda's async invocation metadata).
  std::string attributes;
  // A stable id chosen by the producer (an invocation's request id, say); empty: the engine
  // makes a UUID. Kept across redeliveries and redrive so consumers can de-duplicate.
  std::string id;
  // Invisible for this long after the append; negative: the queue's delay_ms.
  int64_t delay_ms = -1;
  // FIFO queues: the message group (required there) and the deduplication id (empty: none).
  std::string group_id;
  std::string dedup_id;
};

// A message as the engine holds it. Plain data.
struct Message {
  std::string id;
  std::string body;
  std::string attributes;
  int64_t enqueued_ms = 0;       // epoch ms of the append (kept through redrive)
  int receive_count = 0;         // leases so far, this one included once leased
  int64_t first_receive_ms = 0;  // epoch ms of the first lease; 0 before it
  std::string group_id;
  std::string dedup_id;
  uint64_t seq = 0;  // the engine's append order: FIFO's SequenceNumber
};

// One message handed out by Lease: a copy of it and the handle that acknowledges it.
struct LeasedMessage {
  Message message;
  // Opaque; valid until the lease ends (Ack, Retry, ChangeVisibility(0), or its deadline
  // passing). Each lease of a message gets a different one.
  std::string receipt;
  int64_t visible_again_ms = 0;  // the lease's deadline, epoch ms
};

// Approximate figures of one queue at one instant (as SQS's Approximate* attributes).
struct QueueStats {
  int64_t visible = 0;        // ready to be leased now
  int64_t in_flight = 0;      // leased, lease not ended
  int64_t delayed = 0;        // waiting out a delay or a retry's backoff
  int64_t oldest_age_ms = 0;  // age of the oldest message in any state; 0 when empty
};

// Runs a function on a thread of the caller's choosing, without blocking: e.g.
// `[ex = io.get_executor()](auto fn) { asio::post(ex, std::move(fn)); }`.
// Empty: whichever thread triggers it runs it directly (the engine's writer thread, or the
// caller of the method that triggered it), with none of the engine's locks held; it must
// then be quick and must not block.
using Poster = std::function<void(std::function<void()>)>;

// Told once whether a write became durable (per the engine's Durability) or failed.
struct Completion {
  Poster post;
  std::function<void(Result<void>)> done;  // may be empty: nobody waits
};

}  // namespace lambent::async
