#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/error.h"

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

  void Append(const std::string& function, std::string_view bytes);
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

 private:
  Result<std::string> ReadStored(const std::string& function, size_t tail_lines);
  void FlushWriting();  // write_mutex_ held
  void WriteLocked(const std::string& function, std::string_view bytes);  // write_mutex_ held
  std::filesystem::path Current(const std::string& function) const;
  std::filesystem::path Previous(const std::string& function) const;

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
};

}  // namespace lambent::telemetry
