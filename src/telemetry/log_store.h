#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/error.h"

namespace lambent::telemetry {

// The per-function logs (one file each under `dir`, as a log group would be). Appends are
// buffered in memory and reach the file on Flush(), which the daemon calls on a timer, so
// the invoke path never waits for a write. Thread-safe.
class LogStore {
 public:
  explicit LogStore(std::filesystem::path dir);
  ~LogStore();

  void Append(const std::string& function, std::string_view bytes);
  // Writes every buffered append to its file.
  void Flush();
  // The last `tail_lines` lines of a function's log (all when 0), buffered ones included.
  // kNotFound when the function never logged.
  Result<std::string> Read(const std::string& function, size_t tail_lines);

 private:
  void FlushLocked();

  const std::filesystem::path dir_;
  std::mutex mutex_;
  std::map<std::string, std::string> pending_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::telemetry
