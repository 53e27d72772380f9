#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace lambent::telemetry {

// A function's log may use this many bytes on disk unless the daemon is told otherwise.
inline constexpr int64_t kDefaultMaxLogBytes = 64ll << 20;

struct LogLimits {
  // A function's log on disk, its current file and the one rotated out before it, stays
  // within this; the oldest lines go first. At least 2 bytes.
  int64_t max_bytes_per_function = kDefaultMaxLogBytes;
  // Whether a function still exists. Buffered lines of a function that does not are dropped
  // when they would be written: a deleted function's late output must not bring its log
  // back. Unset: every function exists. Called while the store writes (not with the lock
  // appends take), so it must not call back into the store.
  std::function<bool(const std::string& function)> exists;
  // Whether each line is stored with the time it was appended ("2024-01-01T00:00:00.000Z "
  // before it), as CloudWatch keeps a time per event. Read() gives it back only when asked.
  bool timestamp_lines = false;
  // All functions' logs together stay within this (0: no cap): the writer removes the
  // oldest files first. Checked every `enforce_every_ms` and whenever a 32nd of it was written.
  int64_t max_total_bytes = 0;
  // How often the writer applies retention and the total cap.
  int64_t enforce_every_ms = 10'000;
  // How long a retention "day" lasts: a day, except in tests that cannot wait one.
  int64_t day_ms = 86'400'000;
};

// One stored line, as CloudWatch Logs has an event: its time (ms since the epoch), the stream
// (execution environment) that wrote it, and its text without the newline.
struct LogEvent {
  int64_t timestamp = 0;
  std::string stream;
  std::string message;
};

// A log stream as its stored lines show it.
struct LogStreamInfo {
  std::string name;
  int64_t first_event = 0;
  int64_t last_event = 0;
  int64_t stored_bytes = 0;
};

// The per-function logs (as a log group would be): `<dir>/<function>.log`, rotated to
// `<function>.log.1` when it reaches half the limit. Appends are buffered in memory and
// reach the file on Flush(), which the daemon calls from a writer thread of its own, so the
// invoke path never waits for a write; what is buffered for one function is bounded by half the limit too.
// Thread-safe.
class LogStore {
 public:
  explicit LogStore(std::filesystem::path dir, LogLimits limits = {});
  ~LogStore();

  // `stream` names the execution environment that wrote `bytes` (its log stream); kept per
  // line when the store stamps lines.
  void Append(const std::string& function, std::string_view bytes, std::string_view stream = {});
  // Writes every buffered append to its file, rotating where a file would grow too large.
  void Flush();
  // The last `tail_lines` lines of a function's log (all when 0), across the rotation and
  // with buffered ones included; each with its time first when `timestamps` and the store
  // keeps them. kNotFound when the function has no log.
  Result<std::string> Read(const std::string& function, size_t tail_lines, bool timestamps = false);
  // Deletes a function's log: its files and what is buffered for it. Reads already under
  // way still finish with what they had.
  void Remove(const std::string& function);
  // Deletes the log files of every function not in `functions`, e.g. at start, for logs of
  // functions deleted while an older daemon ran. Failures are logged.
  void RemoveAllExcept(const std::set<std::string>& functions);

  // The stored lines with a time at or after `since_ms`, oldest first. The log is read from
  // its end back only as far as `since_ms`, so a recent window costs what it holds.
  Result<std::vector<LogEvent>> Events(const std::string& function, int64_t since_ms = 0);
  // The streams of a function's log, by name.
  Result<std::vector<LogStreamInfo>> Streams(const std::string& function);
  // The functions that have a log (stored or buffered), by name.
  std::vector<std::string> Functions();
  // The time of the oldest stored line (0 when none has one): two small reads.
  int64_t OldestTime(const std::string& function);
  // Creates an empty log for `function` if it has none.
  void Touch(const std::string& function);
  // A function log's retention in days (none: kept until the size caps remove it). Kept in
  // the directory, so it outlives a restart; applied by Flush() every enforce_every_ms.
  void SetRetention(const std::string& function, std::optional<int> days);
  std::optional<int> Retention(const std::string& function);

  // The log group a function's lines belong to (its LoggingConfig.LogGroup; "" restores the
  // default /aws/lambda/NAME). The lines stay in the function's own files, so a group
  // change moves its whole log. Kept in the directory, so it outlives a restart; a function's
  // entry goes when RemoveAllExcept drops its log.
  void SetGroup(const std::string& function, const std::string& group);
  std::string GroupOf(const std::string& function);
  // The functions whose lines `group` holds, by name: those set to it, and for
  // /aws/lambda/NAME the function NAME unless it has a group of its own. Names that could
  // not be a function's (and so a file's) are never returned.
  std::vector<std::string> FunctionsOf(std::string_view group);

 private:
  Result<std::string> ReadStored(const std::string& function, size_t tail_lines);
  // Opens a function's files, oldest first, after a flush, for a read without the lock.
  Result<void> OpenFiles(const std::string& function, const std::function<void(Fd, off_t)>& add);
  void FlushWriting();  // write_mutex_ held
  void WriteLocked(const std::string& function, std::string_view bytes);  // write_mutex_ held
  std::filesystem::path Current(const std::string& function) const;
  std::filesystem::path Previous(const std::string& function) const;
  void Enforce();                                 // write_mutex_ held
  void ApplyRetention(const std::string& function, int64_t cutoff_ms);  // write_mutex_ held
  void ApplyTotalCap();                           // write_mutex_ held
  void SaveRetention();                           // retention_mutex_ held

  const std::filesystem::path dir_;
  const int64_t file_limit_;  // bytes per file: half the function's limit
  const std::function<bool(const std::string&)> exists_;
  // Held while the files are written, read for a tail, or removed; taken before mutex_.
  std::mutex write_mutex_;
  // Held by Append (the io thread) only for buffering, and briefly by a flush to take the buffers.
  std::mutex mutex_;
  std::map<std::string, std::string> pending_;  // GUARDED_BY(mutex_)
  std::map<std::string, int64_t> dropped_;      // GUARDED_BY(mutex_): bytes cut from pending_
  const bool timestamp_lines_;
  std::set<std::string> mid_line_;              // GUARDED_BY(mutex_): last append ended mid-line
  const int64_t max_total_bytes_;
  const int64_t enforce_every_ms_;
  const int64_t day_ms_;
  int64_t last_enforced_ms_ = 0;     // GUARDED_BY(write_mutex_)
  int64_t written_since_check_ = 0;  // GUARDED_BY(write_mutex_)
  std::mutex retention_mutex_;
  std::map<std::string, int> retention_days_;  // GUARDED_BY(retention_mutex_)
  void SaveGroups();                            // group_mutex_ held
  std::mutex group_mutex_;
  std::map<std::string, std::string> groups_;  // GUARDED_BY(group_mutex_): custom groups only
};

}  // namespace lambent::telemetry
