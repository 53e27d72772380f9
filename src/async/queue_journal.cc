#include "async/queue_journal.h"

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace lambent::async {
namespace {

nlohmann::json OptionsToJson(const QueueOptions& options) {
  return {{"visibility_timeout_ms", options.visibility_timeout_ms},
          {"retention_ms", options.retention_ms},
          {"delay_ms", options.delay_ms},
          {"max_receive_count", options.max_receive_count},
          {"dead_letter_queue", options.dead_letter_queue},
          {"fifo", options.fifo},
          {"metadata", options.metadata}};
}

Result<QueueOptions> OptionsFromJson(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object())
    return tl::unexpected(Error::Internal("corrupt queue options in the journal"));
  // value() throws on a field of the wrong type: a damaged file must not end the daemon.
  try {
    QueueOptions defaults, options;
    options.visibility_timeout_ms =
        json.value("visibility_timeout_ms", defaults.visibility_timeout_ms);
    options.retention_ms = json.value("retention_ms", defaults.retention_ms);
    options.delay_ms = json.value("delay_ms", defaults.delay_ms);
    options.max_receive_count = json.value("max_receive_count", defaults.max_receive_count);
    options.dead_letter_queue = json.value("dead_letter_queue", defaults.dead_letter_queue);
    options.fifo = json.value("fifo", defaults.fifo);
    options.metadata = json.value("metadata", defaults.metadata);
    return options;
  } catch (const nlohmann::json::exception&) {
    return tl::unexpected(Error::Internal("corrupt queue options in the journal"));
  }
}

}  // namespace

Result<std::unique_ptr<QueueJournal>> QueueJournal::Open(const std::filesystem::path& dir,
                                                         Durability durability) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return tl::unexpected(Error::System("mkdir", dir.string(), ec.value()));
  const std::filesystem::path path = dir / kFileName;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error(ErrorCode::kSystem, fmt::format("sqlite open({}): {}", path.string(),
                                                db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  std::unique_ptr<QueueJournal> journal(new QueueJournal(db));
  sqlite3_busy_timeout(db, 5000);
  // In WAL mode NORMAL syncs only at checkpoints: a commit is a write() into the WAL, which
  // the kernel keeps when the process dies. FULL syncs the WAL at every commit.
  // Checkpoints are SQLite's automatic ones, run by the writer thread inside the commit that
  // crosses the threshold, so their syncs show as the p99 of append latency. A small log
  // (200 pages, not the default 1000) keeps each one short: at 10,000 appends/s, p99 went
  // from ~8 ms to ~2.5 ms here, for ~5% less peak throughput; 64 pages cost more and 10,000
  // made p99 ~55 ms. A checkpointer thread of its own measured no better on two cores, and
  // under a steady stream of commits its log would never be fully copied, so rarely rewound.
  const char* sync = durability == Durability::kPowerLoss ? "PRAGMA synchronous=FULL"
                                                          : "PRAGMA synchronous=NORMAL";
  for (const char* sql : {"PRAGMA journal_mode=WAL", sync, "PRAGMA wal_autocheckpoint=200",
                          "CREATE TABLE IF NOT EXISTS queues ("
                          " name TEXT NOT NULL PRIMARY KEY, options TEXT NOT NULL)",
                          "CREATE TABLE IF NOT EXISTS messages ("
                          " seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, id TEXT NOT NULL,"
                          " body BLOB NOT NULL, attributes TEXT NOT NULL,"
                          " enqueued_ms INTEGER NOT NULL, visible_at_ms INTEGER NOT NULL,"
                          " receive_count INTEGER NOT NULL, first_receive_ms INTEGER NOT NULL,"
                          " group_id TEXT NOT NULL, dedup_id TEXT NOT NULL)",
                          // Purge and DeleteQueue delete by queue.
                          "CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue)"}) {
    if (auto ok = journal->Exec(sql); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = journal->Prepare(); !ok) return tl::unexpected(ok.error());
  return journal;
}

// close_v2: the prepared statements are members, finalized only after this body runs; the
// connection closes when the last of them is.
QueueJournal::~QueueJournal() { sqlite3_close_v2(db_); }

Result<void> QueueJournal::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Error error(ErrorCode::kSystem,
                fmt::format("sqlite exec '{}': {}", sql, message ? message : "?"));
    sqlite3_free(message);
    return tl::unexpected(error);
  }
  return Ok();
}

Result<void> QueueJournal::Prepare() {
  std::pair<Statement*, const char*> statements[] = {
      {&put_queue_, "INSERT OR REPLACE INTO queues (name, options) VALUES (?1, ?2)"},
      {&delete_queue_, "DELETE FROM queues WHERE name = ?1"},
      {&delete_queue_messages_, "DELETE FROM messages WHERE queue = ?1"},
      {&insert_,
       "INSERT OR REPLACE INTO messages (seq, queue, id, body, attributes, enqueued_ms,"
       " visible_at_ms, receive_count, first_receive_ms, group_id, dedup_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&delete_, "DELETE FROM messages WHERE seq = ?1"},
      {&leased_, "UPDATE messages SET receive_count = ?2, first_receive_ms = ?3 WHERE seq = ?1"},
      {&requeue_, "UPDATE messages SET visible_at_ms = ?2 WHERE seq = ?1"},
      // A redriven message starts afresh in its dead-letter queue: otherwise a DLQ with a
      // redrive policy of its own would pass it straight on.
      {&move_,
       "UPDATE messages SET queue = ?2, visible_at_ms = ?3, receive_count = 0,"
       " first_receive_ms = 0 WHERE seq = ?1"},
  };
  for (auto& [statement, sql] : statements) {
    if (auto ok = statement->Prepare(db_, sql); !ok) return ok;
  }
  return Ok();
}

Result<JournalContents> QueueJournal::Load() {
  JournalContents contents;
  Statement queues;
  if (auto ok = queues.Prepare(db_, "SELECT name, options FROM queues ORDER BY name"); !ok) {
    return tl::unexpected(ok.error());
  }
  int rc;
  while ((rc = sqlite3_step(queues.get())) == SQLITE_ROW) {
    auto options = OptionsFromJson(queues.Text(1));
    if (!options) return tl::unexpected(options.error());
    contents.queues.emplace_back(std::string(queues.Text(0)), std::move(*options));
  }
  if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "load queues"));

  Statement messages;
  if (auto ok =
          messages.Prepare(db_,
                           "SELECT seq, queue, id, body, attributes, enqueued_ms, visible_at_ms,"
                           " receive_count, first_receive_ms, group_id, dedup_id"
                           " FROM messages ORDER BY seq");
      !ok) {
    return tl::unexpected(ok.error());
  }
  while ((rc = sqlite3_step(messages.get())) == SQLITE_ROW) {
    JournalContents::Row row;
    row.seq = uint64_t(messages.Int(0));
    row.queue = messages.Text(1);
    row.message.id = messages.Text(2);
    row.message.body = messages.Text(3);
    row.message.attributes = messages.Text(4);
    row.message.enqueued_ms = messages.Int(5);
    row.visible_at_ms = messages.Int(6);
    row.message.receive_count = int(messages.Int(7));
    row.message.first_receive_ms = messages.Int(8);
    row.message.group_id = messages.Text(9);
    row.message.dedup_id = messages.Text(10);
    contents.messages.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "load messages"));
  return contents;
}

Result<void> QueueJournal::Apply(const JournalRecord& r) {
  using Kind = JournalRecord::Kind;
  switch (r.kind) {
    case Kind::kPutQueue: {
      std::string options = DumpJson(OptionsToJson(r.options));
      put_queue_.BindText(1, r.queue);
      put_queue_.BindText(2, options);
      return put_queue_.Run(db_, "put queue");
    }
    case Kind::kDeleteQueue:
      delete_queue_.BindText(1, r.queue);
      if (auto ok = delete_queue_.Run(db_, "delete queue"); !ok) return ok;
      [[fallthrough]];
    case Kind::kPurge:
      delete_queue_messages_.BindText(1, r.queue);
      return delete_queue_messages_.Run(db_, "delete queue messages");
    case Kind::kInsert:
      insert_.BindInt(1, int64_t(r.seq));
      insert_.BindText(2, r.queue);
      insert_.BindText(3, r.message.id);
      insert_.BindBlob(4, r.message.body);
      insert_.BindText(5, r.message.attributes);
      insert_.BindInt(6, r.message.enqueued_ms);
      insert_.BindInt(7, r.visible_at_ms);
      insert_.BindInt(8, r.message.receive_count);
      insert_.BindInt(9, r.message.first_receive_ms);
      insert_.BindText(10, r.message.group_id);
      insert_.BindText(11, r.message.dedup_id);
      return insert_.Run(db_, "insert message");
    case Kind::kDelete:
      delete_.BindInt(1, int64_t(r.seq));
      return delete_.Run(db_, "delete message");
    case Kind::kLeased:
      leased_.BindInt(1, int64_t(r.seq));
      leased_.BindInt(2, r.receive_count);
      leased_.BindInt(3, r.first_receive_ms);
      return leased_.Run(db_, "update receive count");
    case Kind::kRequeue:
      requeue_.BindInt(1, int64_t(r.seq));
      requeue_.BindInt(2, r.visible_at_ms);
      return requeue_.Run(db_, "requeue message");
    case Kind::kMove:
      move_.BindInt(1, int64_t(r.seq));
      move_.BindText(2, r.queue);
      move_.BindInt(3, r.visible_at_ms);
      return move_.Run(db_, "move message");
  }
  return tl::unexpected(Error::Internal("unknown journal record"));
}

Result<void> QueueJournal::Commit(const std::vector<JournalRecord>& records) {
  if (records.empty()) return Ok();
  if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) return ok;
  Result<void> applied = Ok();
  for (const JournalRecord& record : records) {
    applied = Apply(record);
    if (!applied) break;
  }
  if (applied) applied = Exec("COMMIT");
  if (!applied && sqlite3_get_autocommit(db_) == 0) {
    // After some errors (SQLITE_FULL among them) SQLite has rolled back already.
    (void)Exec("ROLLBACK");
  }
  return applied;
}

}  // namespace lambent::async
