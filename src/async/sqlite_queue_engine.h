#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "async/journal_writer.h"
#include "async/queue_engine.h"
#include "async/queue_state.h"
#include "base/clock.h"

namespace lambent::async {

struct SqliteQueueEngineOptions {
  Durability durability = Durability::kProcess;
  // Group commit tuning: see JournalWriter::Options.
  size_t commit_after_records = 1000;
  std::chrono::microseconds batch_window{0};
  // Appends are refused (kTooManyRequests) while this many changes wait for the disk, so a
  // disk slower than the producers shows as throttling, not as memory growth.
  size_t max_pending_records = 200'000;
  // The clock, epoch ms; empty: the wall clock. Tests inject their own.
  std::function<int64_t()> now_ms;
  // The longest the engine goes without checking whether a delay or lease that a watch
  // waits for has ended (it computes the exact time from its clock; this bounds the wait
  // for a clock that jumps, like a test's).
  std::chrono::milliseconds max_timer_wait{1000};
  // A test seam: runs on the writer thread before each commit.
  std::function<void()> before_commit;
};

// The embedded QueueEngine: every queue's state in memory (QueueState) and journaled to
// `<dir>/queues.db` by a writer thread with group commit (JournalWriter). Callers never wait
// for the disk: Lease, Ack and the rest change memory under one short-held mutex and hand
// a record to the writer; appends become leasable when their commit succeeds. Open loads
// the journal back: messages not acknowledged return, leased ones visible again, with the
// receive counts of the last commit (a lease in the last few milliseconds before a crash
// may not have been counted). Thread-safe.
class SqliteQueueEngine final : public QueueEngine {
 public:
  static Result<std::unique_ptr<SqliteQueueEngine>> Open(const std::filesystem::path& dir,
                                                         SqliteQueueEngineOptions options = {});
  // Closes as Close() does.
  ~SqliteQueueEngine() override;

  // Commits what is pending, tells the waiting completions, and stops the writer thread;
  // idempotent. Appends afterwards fail. Posters must accept work until it returns.
  void Close();

  Result<void> CreateQueue(const std::string& name, const QueueOptions& options) override;
  Result<void> SetQueueOptions(const std::string& name, const QueueOptions& options) override;
  Result<QueueOptions> GetQueueOptions(const std::string& name) override;
  std::vector<std::string> ListQueues() override;
  Result<void> DeleteQueue(const std::string& name) override;
  Result<void> Purge(const std::string& name) override;
  Result<std::vector<std::string>> Append(const std::string& queue,
                                          std::vector<NewMessage> messages,
                                          Completion completion) override;
  Result<std::vector<LeasedMessage>> Lease(const std::string& queue, int max_messages,
                                           int64_t visibility_timeout_ms = -1) override;
  Result<void> Ack(const std::string& queue, std::string_view receipt) override;
  Result<void> ChangeVisibility(const std::string& queue, std::string_view receipt,
                                int64_t timeout_ms) override;
  Result<void> Retry(const std::string& queue, std::string_view receipt, int64_t delay_ms) override;
  Result<QueueStats> Stats(const std::string& queue) override;
  Result<WatchId> WatchVisible(const std::string& queue, Poster post,
                               std::function<void()> fn) override;
  void CancelWatch(WatchId id) override;
  void Flush(Completion completion) override;

 private:
  struct Watch {
    std::string queue;
    Poster post;
    std::function<void()> fn;
  };
  using Fired = std::vector<Watch>;

  explicit SqliteQueueEngine(SqliteQueueEngineOptions options);
  int64_t Now() const { return options_.now_ms ? options_.now_ms() : NowEpochMs(); }
  Result<QueueState*> FindLocked(const std::string& name);
  // The lease `receipt` names in `queue`, after bringing the queue to `now`.
  struct LeaseRef {
    QueueState* state;
    uint64_t seq;
  };
  Result<LeaseRef> FindLeaseLocked(const std::string& queue, std::string_view receipt, int64_t now);
  // Brings a queue to `now`: ends delays and leases, drops messages past retention.
  void AdvanceLocked(QueueState& state, int64_t now);
  // Takes the watches of `queue` when it has a visible message (or `always`).
  void TakeWatchesLocked(const std::string& queue, const QueueState* state, Fired& fired,
                         bool always = false);
  static void Run(Fired& fired);
  // The writer's callbacks (on its thread): publishes committed appends; fires watches
  // whose queue's delay or lease ended and says when to look again.
  void OnCommitted(std::vector<JournalRecord>& records, const Result<void>& result);
  std::chrono::milliseconds OnTurn();

  const SqliteQueueEngineOptions options_;
  std::mutex mutex_;
  std::map<std::string, QueueState> queues_;  // GUARDED_BY(mutex_)
  std::map<WatchId, Watch> watches_;          // GUARDED_BY(mutex_)
  uint64_t next_seq_ = 1;                     // GUARDED_BY(mutex_)
  uint64_t next_generation_ = 1;              // GUARDED_BY(mutex_)
  WatchId next_watch_ = 1;                    // GUARDED_BY(mutex_)
  bool closed_ = false;                       // GUARDED_BY(mutex_)
  // Submitted to under mutex_ so that the journal sees changes in memory's order. Its
  // thread calls back into the members above, so Close stops it before they go.
  std::unique_ptr<JournalWriter> writer_;
};

}  // namespace lambent::async
