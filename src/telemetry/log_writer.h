#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "telemetry/log_store.h"

namespace lambent::telemetry {

// The thread that owns writing function logs: it flushes `logs` every `period`, so neither
// the io thread nor an invocation ever waits for a log write. Stopping (or destroying) it
// flushes once more. `logs` must outlive it. Thread-safe.
class LogWriter {
 public:
  LogWriter(LogStore& logs, std::chrono::milliseconds period);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Ends the thread after a last flush; idempotent.
  void Stop();

 private:
  void Run();

  LogStore& logs_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace lambent::telemetry
