#include "telemetry/log_writer.h"

#include "base/background_thread.h"

namespace lambent::telemetry {

LogWriter::LogWriter(LogStore& logs, std::chrono::milliseconds period)
    : logs_(logs), period_(period), thread_([this] { Run(); }) {}

LogWriter::~LogWriter() { Stop(); }

void LogWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogWriter::Run() {
  MarkBackgroundThread("lambent-logs");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, period_, [this] { return stopping_; });
    lock.unlock();
    logs_.Flush();
    lock.lock();
  }
  lock.unlock();
  logs_.Flush();  // what was appended before Stop(), even if Stop() came first
}

}  // namespace lambent::telemetry
