#include "telemetry/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

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

namespace {

bool PreadAll(int fd, char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= size_t(n);
    offset += n;
  }
  return true;
}

}  // namespace

Result<std::string> LogStore::Read(const std::string& function, size_t tail_lines) {
  {
    std::lock_guard lock(mutex_);
    FlushLocked();
  }
  // Read without the lock: Append is on the invoke path and must not wait for a big read.
  auto path = dir_ / (function + ".log");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::NotFound("no log for function " + function));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(Error::System("fstat", path.string(), errno));
  const off_t size = st.st_size;
  if (tail_lines == 0) {
    std::string text(size_t(size), '\0');
    if (!PreadAll(fd.get(), text.data(), text.size(), 0)) {
      return tl::unexpected(Error::System("read", path.string(), errno));
    }
    return text;
  }
  // A tail is read backwards, block by block, so its cost does not grow with the log.
  constexpr off_t kBlock = 64 * 1024;
  std::vector<std::string> blocks;  // last block first
  size_t newlines = 0;
  for (off_t pos = size; pos > 0;) {
    off_t n = std::min(kBlock, pos);
    pos -= n;
    std::string block(size_t(n), '\0');
    if (!PreadAll(fd.get(), block.data(), block.size(), pos)) {
      return tl::unexpected(Error::System("read", path.string(), errno));
    }
    for (size_t i = block.size(); i > 0; --i) {
      // The file's final newline ends its last line; every other one starts a line.
      if (block[i - 1] != '\n' || pos + off_t(i) == size) continue;
      if (++newlines == tail_lines) {
        block.erase(0, i);
        pos = 0;
        break;
      }
    }
    blocks.push_back(std::move(block));
  }
  std::string text;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) text += *it;
  return text;
}

}  // namespace lambent::telemetry
