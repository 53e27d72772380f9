#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "async/queue_types.h"
#include "base/error.h"

namespace lambent::async {

// One queue's messages in memory, indexed four ways so that every operation is a lookup:
// visible ones by (visible_at, seq), delayed ones by when they become visible, leased ones
// by their deadline, and all by age for retention. `seq` is the engine-wide append order
// and the message's key in the journal. Time only moves when the caller says (Advance), so
// a test clock drives it. Not thread-safe: the engine's mutex guards it.
//
// A FIFO queue also keeps each message group's members in order: only a group's first
// message is handed out, and only while no message of the group is leased, so a group is
// consumed strictly in order, one batch at a time (SQS's FIFO rule). Ready groups are
// indexed by their first message, so that finding the next is a lookup too. It also
// remembers deduplication ids for kDedupWindowMs.
class QueueState {
 public:
  // SQS's deduplication interval for FIFO queues.
  static constexpr int64_t kDedupWindowMs = 5 * 60 * 1000;

  QueueState(QueueOptions options, uint64_t generation)
      : options_(std::move(options)), generation_(generation) {}

  const QueueOptions& options() const { return options_; }
  void set_options(QueueOptions options) { options_ = std::move(options); }
  // Which incarnation of the queue this is: a purge or a delete and re-create changes it,
  // so that appends made before it are not published into the queue afterwards.
  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t generation) { generation_ = generation; }

  // A receipt for leasing `seq` now: the seq (to find the message) and a random nonce (so an
  // old lease's receipt never matches a new lease).
  static std::string NewReceipt(uint64_t seq);

  // Adds a message, visible from `visible_at_ms`. `seq` must not be present.
  void Insert(uint64_t seq, Message message, int64_t visible_at_ms, int64_t now_ms);
  // Makes visible the messages whose delay or lease has ended by `now_ms`.
  void Advance(int64_t now_ms);
  // Removes the messages older than the retention at `now_ms`; returns their seqs.
  std::vector<uint64_t> RemoveExpired(int64_t now_ms);
  // The visible message to hand out next, if any (call Advance first). FIFO: the first
  // message of the ready group that has waited longest.
  std::optional<uint64_t> NextVisible() const;
  // FIFO: the message after `seq` in its group when it may go in the same batch as `seq`
  // (it is visible, and every message before it in the group was leased in this batch).
  std::optional<uint64_t> NextInGroup(uint64_t seq) const;
  // When the next delayed or leased message becomes visible, if any is waiting.
  std::optional<int64_t> NextChangeMs() const;
  bool HasVisible() const { return options_.fifo ? !ready_.empty() : !visible_.empty(); }
  const Message& Get(uint64_t seq) const { return entries_.at(seq).message; }

  // Leases the visible message `seq` until `deadline_ms` under `receipt`.
  LeasedMessage Lease(uint64_t seq, int64_t now_ms, int64_t deadline_ms, std::string receipt);
  // The seq of the message leased under `receipt`: kInvalidArgument when malformed,
  // kNotFound when the lease has ended (call Advance first).
  Result<uint64_t> FindLease(std::string_view receipt) const;
  // Moves a lease's deadline; the receipt stays valid.
  void SetDeadline(uint64_t seq, int64_t deadline_ms);
  // Ends a lease: the message becomes visible at `visible_at_ms`.
  void Release(uint64_t seq, int64_t visible_at_ms, int64_t now_ms);
  // Removes a message in any state and hands it over.
  Message Take(uint64_t seq);
  // Removes every message.
  void Clear();

  // FIFO deduplication: the id of the message appended with `dedup_id` within the window
  // before `now_ms`, if any; Remember records one.
  std::optional<std::string> Deduplicate(const std::string& dedup_id, int64_t now_ms);
  void Remember(const std::string& dedup_id, const std::string& id, int64_t enqueued_ms);

  QueueStats Stats(int64_t now_ms) const;
  size_t size() const { return entries_.size(); }

 private:
  enum class Where { kVisible, kDelayed, kLeased };
  struct Entry {
    Message message;
    Where where = Where::kVisible;
    int64_t visible_at_ms = 0;  // kVisible, kDelayed
    int64_t deadline_ms = 0;    // kLeased
    std::string receipt;        // kLeased
  };
  using Index = std::set<std::pair<int64_t, uint64_t>>;  // (time, seq)
  struct Group {
    std::set<uint64_t> members;  // in append order
    int leased = 0;
    std::optional<std::pair<int64_t, uint64_t>> ready;  // its key in ready_, when ready
  };

  void Unindex(uint64_t seq, const Entry& entry);
  void MakeVisible(uint64_t seq, Entry& entry, int64_t visible_at_ms, int64_t now_ms);
  // FIFO bookkeeping after a member of `group` changed state.
  void LeaseEnded(const Entry& entry);
  void RefreshGroup(const std::string& group);

  QueueOptions options_;
  uint64_t generation_;
  std::unordered_map<uint64_t, Entry> entries_;
  Index visible_;  // (visible_at, seq)
  Index delayed_;  // (visible_at, seq)
  Index leased_;   // (deadline, seq)
  Index by_age_;   // (enqueued, seq)
  // FIFO only.
  std::unordered_map<std::string, Group> groups_;
  Index ready_;  // (first message's visible_at, its seq) of each ready group
  std::unordered_map<std::string, std::pair<std::string, int64_t>> dedup_;  // id -> (message id, expiry)
  std::deque<std::pair<int64_t, std::string>> dedup_expiry_;                // (expiry, dedup id)
};

}  // namespace lambent::async
