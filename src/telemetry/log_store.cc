#include "telemetry/log_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/fd.h"

namespace lambent::telemetry {

LogStore::LogStore(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
}

LogStore::~LogStore() { Flush(); }

void LogStore::Append(const std::string& function, std::string_view bytes) {
  std::lock_guard lock(mutex_);
  pending_[function].append(bytes);
}

void LogStore::Flush() {
  std::lock_guard lock(mutex_);
  FlushLocked();
}

void LogStore::FlushLocked() {
  for (auto& [function, bytes] : pending_) {
    if (bytes.empty()) continue;
    auto path = dir_ / (function + ".log");
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) {
      spdlog::warn("open({}) for the function log: {}", path.string(), std::strerror(errno));
      continue;
    }
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::warn("write({}): {}", path.string(), std::strerror(errno));
        break;
      }
      done += size_t(n);
    }
    bytes.clear();
  }
  std::erase_if(pending_, [](const auto& entry) { return entry.second.empty(); });
}

Result<std::string> LogStore::Read(const std::string& function, size_t tail_lines) {
  std::lock_guard lock(mutex_);
  FlushLocked();
  auto path = dir_ / (function + ".log");
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(Error::NotFound("no log for function " + function));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (tail_lines == 0) return text;
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t lines = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++lines == tail_lines) break;
  }
  return text.substr(pos);
}

}  // namespace lambent::telemetry
