#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "async/journal_record.h"
#include "async/queue_types.h"
#include "async/sqlite_statement.h"
#include "base/error.h"

namespace lambent::async {

// What the journal holds: every queue and every message not yet acknowledged.
struct JournalContents {
  struct Row {
    uint64_t seq = 0;
    std::string queue;
    Message message;
    int64_t visible_at_ms = 0;
  };
  std::vector<std::pair<std::string, QueueOptions>> queues;
  std::vector<Row> messages;  // by seq
};

// The queues' durable state in one SQLite file (WAL): tables `queues` (name, options JSON)
// and `messages` (one row per message, keyed by the engine's seq). Leases are not stored,
// only receive counts, so that a restart makes every leased message visible again.
// Not thread-safe: the engine loads it once at open, then only its writer thread uses it.
class QueueJournal {
 public:
  static constexpr const char* kFileName = "queues.db";

  // Opens or creates `dir`/queues.db, synchronous=NORMAL for kProcess (a commit is in the
  // WAL file, hence in the kernel, when it returns) or FULL for kPowerLoss (and fsynced).
  static Result<std::unique_ptr<QueueJournal>> Open(const std::filesystem::path& dir,
                                                    Durability durability);
  ~QueueJournal();
  QueueJournal(const QueueJournal&) = delete;
  QueueJournal& operator=(const QueueJournal&) = delete;

  Result<JournalContents> Load();
  // Applies the records in order in one transaction: all of them or, on error, none.
  Result<void> Commit(const std::vector<JournalRecord>& records);

 private:
  explicit QueueJournal(sqlite3* db) : db_(db) {}
  Result<void> Exec(const char* sql);
  Result<void> Prepare();
  Result<void> Apply(const JournalRecord& record);

  sqlite3* db_;
  Statement put_queue_, delete_queue_, delete_queue_messages_, insert_, delete_, leased_, requeue_,
      move_;
};

}  // namespace lambent::async
