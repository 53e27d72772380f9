#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "async/journal_record.h"
#include "async/queue_journal.h"
#include "async/queue_types.h"

namespace lambent::async {

// The thread that owns the journal once the engine is open, committing by group commit:
// records queue up while a commit runs and the next commit takes them all in one
// transaction, so under load one disk write (and, at kPowerLoss, one fsync) carries many
// changes while a lone change waits only for its own commit. Thread-safe.
class JournalWriter {
 public:
  struct Options {
    // Commit at once when this many records are pending, even within the batch window.
    size_t commit_after_records = 1000;
    // How long to gather records before a commit. 0 (the default): nothing but the
    // previous commit delays the next, which keeps a lone append's latency at one commit.
    std::chrono::microseconds batch_window{0};
    // A test seam: called on the writer thread before each commit.
    std::function<void()> before_commit;
  };
  // Called on the writer thread after each commit, with no lock of the writer held, before
  // the completions are told. The records were committed if `result` is ok; the callee may
  // move what it needs out of them.
  using OnCommitted =
      std::function<void(std::vector<JournalRecord>& records, const Result<void>& result)>;
  // Called on the writer thread on each turn of its loop; returns how long the thread may
  // then sleep when nothing is pending (the engine's timer for delays ending).
  using OnTurn = std::function<std::chrono::milliseconds()>;

  JournalWriter(std::unique_ptr<QueueJournal> journal, Options options, OnCommitted on_committed,
                OnTurn on_turn);
  // Stops as Stop() does.
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Queues a record for the next commit. Records commit in the order they are submitted:
  // callers submit under their own lock when order matters.
  void Submit(JournalRecord record);
  // Queues `records` (possibly none) for one commit and tells `completion` its result:
  // records and completion go in together, so that the completion reports the commit that
  // carries them (and everything submitted before).
  void Submit(std::vector<JournalRecord> records, Completion completion);
  // Records not yet committed (those of a commit under way included).
  size_t pending() const;
  // Makes the thread call OnTurn again soon, e.g. because a new watch wants a timer.
  void Poke();
  // Commits what is pending, tells its completions, and ends the thread; idempotent.
  // Submissions after it are dropped and their completions told of an error.
  void Stop();

 private:
  void Run();
  // Commits everything pending; `lock` is released meanwhile. False when the commit failed.
  bool CommitBatch(std::unique_lock<std::mutex>& lock);

  const Options options_;
  const OnCommitted on_committed_;
  const OnTurn on_turn_;
  std::unique_ptr<QueueJournal> journal_;  // the writer thread's alone after construction

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<JournalRecord> records_;   // GUARDED_BY(mutex_)
  std::vector<Completion> completions_;  // GUARDED_BY(mutex_)
  size_t committing_ = 0;                // GUARDED_BY(mutex_): records of the commit under way
  bool poked_ = false;                   // GUARDED_BY(mutex_)
  bool stopping_ = false;                // GUARDED_BY(mutex_)
  bool stopped_ = false;                 // GUARDED_BY(mutex_)
  std::thread thread_;                   // last: it starts using the members above at once
};

}  // namespace lambent::async
