#include "async/event_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>

#include "async/sqlite_statement.h"
#include "base/clock.h"

namespace lambent::async {

namespace {

constexpr const char* kStateNames[] = {"queued",    "running", "retrying",
                                       "succeeded", "failed",  "expired"};

}  // namespace

const char* EventStateName(EventState state) { return kStateNames[int(state)]; }

std::optional<EventState> ParseEventState(std::string_view name) {
  for (int i = 0; i < int(std::size(kStateNames)); ++i) {
    if (name == kStateNames[i]) return EventState(i);
  }
  return std::nullopt;
}

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::filesystem::path& path,
                                                 EventLogOptions options) {
  if (path.empty()) return std::unique_ptr<EventLog>(new EventLog(nullptr, std::move(options)));
  // A record of what happened, not the events themselves: losing the last moments of it in
  // a power cut is acceptable, so commits never sync.
  auto opened = OpenDatabase(path,
                         "PRAGMA journal_mode=WAL;"
                         "PRAGMA synchronous=OFF;"
                         "CREATE TABLE IF NOT EXISTS events ("
                         " request_id TEXT NOT NULL PRIMARY KEY, function TEXT NOT NULL,"
                         " qualifier TEXT NOT NULL, state TEXT NOT NULL,"
                         " attempts INTEGER NOT NULL, last_error TEXT NOT NULL,"
                         " enqueued_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
                         "CREATE INDEX IF NOT EXISTS events_by_function ON events (function);");
  if (!opened) return tl::unexpected(opened.error());
  sqlite3* db = *opened;
  // Owned from here: the destructor closes it, on every path below.
  std::unique_ptr<EventLog> log(new EventLog(db, std::move(options)));
  Statement select;
  if (auto ok = select.Prepare(db,
                               "SELECT request_id, function, qualifier, state, attempts, "
                               "last_error, enqueued_ms, updated_ms FROM events "
                               "ORDER BY enqueued_ms, rowid");
      !ok) {
    return tl::unexpected(ok.error());
  }
  {
    std::lock_guard lock(log->mutex_);
    while (true) {
      int rc = sqlite3_step(select.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, "load events"));
      auto state = ParseEventState(select.Text(3));
      if (!state) continue;
      EventEntry entry{std::string(select.Text(0)),
                       std::string(select.Text(1)),
                       std::string(select.Text(2)),
                       *state,
                       int(select.Int(4)),
                       std::string(select.Text(5)),
                       select.Int(6),
                       select.Int(7)};
      // Retention applies to what an earlier run left as well; what it drops goes from the
      // file with the first flush.
      log->Insert(std::move(entry), /*persist=*/false);
    }
  }
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

EventLog::EventLog(sqlite3* db, EventLogOptions options) : db_(db), options_(std::move(options)) {}

EventLog::~EventLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_) sqlite3_close(db_);
}

int64_t EventLog::Now() const { return options_.now_ms ? options_.now_ms() : NowEpochMs(); }

void EventLog::Record(EventEntry entry, Poster post, std::function<void()> written) {
  {
    std::lock_guard lock(mutex_);
    Insert(std::move(entry), /*persist=*/true);
    if (written && db_) {
      pending_.written.emplace_back(std::move(post), std::move(written));
      return;
    }
  }
  if (written) post(std::move(written));
}

void EventLog::Insert(EventEntry entry, bool persist) {
  FunctionEvents& events = functions_[entry.function];
  auto [it, inserted] = events.by_id.try_emplace(entry.request_id);
  if (inserted) events.order.push_back(entry.request_id);
  it->second = std::move(entry);
  if (persist && db_) pending_.rows[it->first] = it->second;
  if (!persist) on_disk_.insert(it->first);
  if (inserted) Evict(events, Now());
}

void EventLog::Evict(FunctionEvents& events, int64_t now) {
  while (!events.order.empty()) {
    auto it = events.by_id.find(events.order.front());
    bool too_many = events.by_id.size() > options_.max_per_function;
    bool too_old = it != events.by_id.end() && now - it->second.enqueued_ms > options_.max_age_ms;
    if (it != events.by_id.end() && !too_many && !too_old) break;
    if (it != events.by_id.end()) events.by_id.erase(it);
    // Loaded rows are deleted too: the file keeps what memory keeps.
    if (db_) {
      if (on_disk_.contains(events.order.front())) {
        pending_.rows[events.order.front()] = std::nullopt;
      } else {
        pending_.rows.erase(events.order.front());
      }
    }
    events.order.pop_front();
  }
}

std::vector<EventEntry> EventLog::List(const std::string& function, std::optional<EventState> state,
                                       size_t limit) const {
  std::vector<EventEntry> out;
  std::lock_guard lock(mutex_);
  auto found = functions_.find(function);
  if (found == functions_.end()) return out;
  const FunctionEvents& events = found->second;
  int64_t now = Now();
  for (auto id = events.order.rbegin(); id != events.order.rend() && out.size() < limit; ++id) {
    auto it = events.by_id.find(*id);
    if (it == events.by_id.end()) continue;
    if (now - it->second.enqueued_ms > options_.max_age_ms) continue;
    if (state && it->second.state != *state) continue;
    out.push_back(it->second);
  }
  return out;
}

void EventLog::Forget(const std::string& function) {
  std::lock_guard lock(mutex_);
  auto found = functions_.find(function);
  if (found == functions_.end()) return;
  for (const auto& [id, entry] : found->second.by_id) {
    pending_.rows.erase(id);
    on_disk_.erase(id);
  }
  functions_.erase(found);
  if (db_) pending_.forgotten.push_back(function);
}

void EventLog::Flush() {
  if (!db_) return;
  std::unique_lock lock(mutex_);
  // A batch taken after this point holds everything recorded before it.
  uint64_t target = submitted_ + 1;
  flush_now_ = true;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return written_ >= target || !writer_.joinable(); });
}

void EventLog::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms),
                   [&] { return flush_now_ || stopping_; });
    bool stop = stopping_;
    flush_now_ = false;
    Pending batch = std::move(pending_);
    pending_ = Pending{};
    for (const auto& [id, row] : batch.rows) {
      if (row) {
        on_disk_.insert(id);
      } else {
        on_disk_.erase(id);
      }
    }
    uint64_t number = ++submitted_;
    lock.unlock();
    if (!batch.empty()) {
      if (auto ok = Write(batch); !ok) {
        spdlog::warn("event log: {} change(s) not written: {}", batch.rows.size(),
                     ok.error().message());
      }
    }
    for (auto& [post, written] : batch.written) post(std::move(written));
    lock.lock();
    written_ = number;
    flushed_.notify_all();
    if (stop) return;
  }
}

Result<void> EventLog::Write(const Pending& batch) {
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return tl::unexpected(SqliteError(db_, "begin"));
  }
  auto body = [&]() -> Result<void> {
    Statement upsert, remove, forget;
    if (auto ok = upsert.Prepare(db_,
                                 "INSERT OR REPLACE INTO events (request_id, function, qualifier, "
                                 "state, attempts, last_error, enqueued_ms, updated_ms) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        !ok) {
      return ok;
    }
    if (auto ok = remove.Prepare(db_, "DELETE FROM events WHERE request_id = ?"); !ok) return ok;
    if (auto ok = forget.Prepare(db_, "DELETE FROM events WHERE function = ?"); !ok) return ok;
    for (const std::string& function : batch.forgotten) {
      forget.BindText(1, function);
      if (auto ok = forget.Run(db_, "forget events"); !ok) return ok;
    }
    for (const auto& [id, row] : batch.rows) {
      if (!row) {
        remove.BindText(1, id);
        if (auto ok = remove.Run(db_, "delete event"); !ok) return ok;
        continue;
      }
      upsert.BindText(1, row->request_id);
      upsert.BindText(2, row->function);
      upsert.BindText(3, row->qualifier);
      upsert.BindText(4, EventStateName(row->state));
      upsert.BindInt(5, row->attempts);
      upsert.BindText(6, row->last_error);
      upsert.BindInt(7, row->enqueued_ms);
      upsert.BindInt(8, row->updated_ms);
      if (auto ok = upsert.Run(db_, "write event"); !ok) return ok;
    }
    return Ok();
  }();
  if (!body) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return body;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error error = SqliteError(db_, "commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return tl::unexpected(error);
  }
  return Ok();
}

}  // namespace lambent::async
