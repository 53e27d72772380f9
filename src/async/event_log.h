#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "async/queue_types.h"
#include "base/error.h"

struct sqlite3;

namespace lambent::async {

// Where an asynchronous event stands.
enum class EventState { kQueued, kRunning, kRetrying, kSucceeded, kFailed, kExpired };
const char* EventStateName(EventState state);
std::optional<EventState> ParseEventState(std::string_view name);

// One event's fate, as `lambent events` shows it.
struct EventEntry {
  std::string request_id;
  std::string function;
  std::string qualifier;
  EventState state = EventState::kQueued;
  int attempts = 0;         // runs that ended (a function error, a timeout or success)
  std::string last_error;   // empty: none
  int64_t enqueued_ms = 0;  // epoch ms of the Invoke
  int64_t updated_ms = 0;   // epoch ms of the last change

  bool operator==(const EventEntry&) const = default;
};

struct EventLogOptions {
  size_t max_per_function = 1000;               // the newest events kept per function
  int64_t max_age_ms = 7ll * 24 * 3600 * 1000;  // older ones go, whatever their number
  int64_t flush_interval_ms = 200;              // changes reach the disk this often
  std::function<int64_t()> now_ms;              // empty: the wall clock
};

// What became of the recent asynchronous events of each function: kept in memory (the
// reads and writes of the io thread never touch the disk) and written to a SQLite file in
// batches by a thread of its own, so it survives a restart. A crash can forget the last
// flush interval of changes. Bounded: per function the newest `max_per_function` events no
// older than `max_age_ms`. Thread-safe.
class EventLog {
 public:
  // Loads `path` (created if missing); an empty path keeps the log in memory only (tests).
  static Result<std::unique_ptr<EventLog>> Open(const std::filesystem::path& path,
                                                EventLogOptions options = {});
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  // Flushes what is pending.
  ~EventLog();

  // Inserts or replaces the event with this request id. Never waits for the disk.
  // `written`, when set, is called through `post` once the change is on disk (or failed to
  // get there: it is only a record), at once without a file: an event's final state can
  // then be recorded before its message is acknowledged.
  void Record(EventEntry entry, Poster post = {}, std::function<void()> written = {});
  // The function's events, newest (by enqueue time) first; `state` filters; at most `limit`.
  std::vector<EventEntry> List(const std::string& function, std::optional<EventState> state,
                               size_t limit) const;
  // Forgets every event of a deleted function.
  void Forget(const std::string& function);
  // Writes what is pending now and waits for it (tests, shutdown).
  void Flush();

 private:
  struct FunctionEvents {
    std::unordered_map<std::string, EventEntry> by_id;
    std::deque<std::string> order;  // request ids, oldest enqueue first
  };
  struct Pending {
    std::unordered_map<std::string, std::optional<EventEntry>> rows;  // nullopt: delete
    std::vector<std::string> forgotten;                               // functions
    std::vector<std::pair<Poster, std::function<void()>>> written;    // told after the write
    bool empty() const { return rows.empty() && forgotten.empty(); }
  };

  EventLog(sqlite3* db, EventLogOptions options);
  int64_t Now() const;
  void Insert(EventEntry entry, bool persist);      // under mutex_
  void Evict(FunctionEvents& events, int64_t now);  // under mutex_
  void Run();
  Result<void> Write(const Pending& batch);

  sqlite3* db_;  // the writer thread's (and Open's before it starts); null: memory only
  EventLogOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::map<std::string, FunctionEvents> functions_;  // GUARDED_BY(mutex_)
  Pending pending_;                                  // GUARDED_BY(mutex_)
  // The ids whose row is in the file or in the batch being written: an event evicted before
  // it reached the file needs no DELETE (under a burst most never reach it).
  std::unordered_set<std::string> on_disk_;          // GUARDED_BY(mutex_)
  uint64_t submitted_ = 0;                           // GUARDED_BY(mutex_): batches taken
  uint64_t written_ = 0;                             // GUARDED_BY(mutex_): batches done
  bool flush_now_ = false;                           // GUARDED_BY(mutex_)
  bool stopping_ = false;                            // GUARDED_BY(mutex_)
  std::thread writer_;
};

}  // namespace lambent::async
