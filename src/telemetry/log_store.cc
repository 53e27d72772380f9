#include "telemetry/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/fd.h"

namespace lambent::telemetry {

LogStore::LogStore(std::filesystem::path dir, LogLimits limits)
    : dir_(std::move(dir)),
      file_limit_(std::max<int64_t>(1, limits.max_bytes_per_function / 2)),
      exists_(std::move(limits.exists)),
      timestamp_lines_(limits.timestamp_lines) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
}

LogStore::~LogStore() { Flush(); }

std::filesystem::path LogStore::Current(const std::string& function) const {
  return dir_ / (function + ".log");
}

std::filesystem::path LogStore::Previous(const std::string& function) const {
  return dir_ / (function + ".log.1");
}

namespace {

// "2024-01-01T00:00:00.000Z ": the stamp before each stored line.
constexpr size_t kStampSize = 25;

std::string Stamp(int64_t epoch_ms) {
  return FormatLambdaTimestamp(epoch_ms).substr(0, 23) + "Z ";
}

bool StartsWithStamp(std::string_view line) {
  if (line.size() < kStampSize) return false;
  for (size_t i = 0; i < kStampSize; ++i) {
    char c = line[i];
    bool ok = false;
    switch (i) {
      case 4: case 7: ok = c == '-'; break;
      case 10: ok = c == 'T'; break;
      case 13: case 16: ok = c == ':'; break;
      case 19: ok = c == '.'; break;
      case 23: ok = c == 'Z'; break;
      case 24: ok = c == ' '; break;
      default: ok = c >= '0' && c <= '9';
    }
    if (!ok) return false;
  }
  return true;
}

// The text without the stamp at the start of each line (lines written without one stay).
std::string WithoutStamps(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    std::string_view line = text.substr(pos, end - pos);
    if (StartsWithStamp(line)) line.remove_prefix(kStampSize);
    out.append(line);
    pos = end;
  }
  return out;
}

}  // namespace

void LogStore::Append(const std::string& function, std::string_view bytes) {
  std::lock_guard lock(mutex_);
  std::string& pending = pending_[function];
  if (!timestamp_lines_) {
    pending.append(bytes);
  } else {
    // Output arrives in pieces that may end mid-line: a stamp goes where a line starts.
    std::string stamp = Stamp(NowEpochMs());
    bool mid_line = mid_line_.contains(function);
    for (size_t pos = 0; pos < bytes.size();) {
      if (!mid_line) pending.append(stamp);
      size_t newline = bytes.find('\n', pos);
      size_t end = newline == std::string_view::npos ? bytes.size() : newline + 1;
      pending.append(bytes.substr(pos, end - pos));
      mid_line = newline == std::string_view::npos;
      pos = end;
    }
    if (mid_line) {
      mid_line_.insert(function);
    } else {
      mid_line_.erase(function);
    }
  }
  if (int64_t(pending.size()) <= file_limit_) return;
  // More than a file's worth within one flush interval: only the newest half of it is kept,
  // from a line start where there is one, so that the cut costs O(1) per appended byte.
  size_t cut = pending.size() - size_t(file_limit_ / 2);
  if (size_t newline = pending.find('\n', cut); newline != std::string::npos && newline + 1 < pending.size()) {
    cut = newline + 1;
  }
  pending.erase(0, cut);
  dropped_[function] += int64_t(cut);
}

void LogStore::Flush() {
  std::lock_guard writing(write_mutex_);
  FlushWriting();
}

void LogStore::FlushWriting() {
  // Appends wait only for the swap, never for a write: the disk is written with the
  // buffers already taken, under write_mutex_ alone, which also keeps batches in order.
  std::map<std::string, std::string> batch;
  std::map<std::string, int64_t> dropped;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
    dropped.swap(dropped_);
  }
  for (auto& [function, bytes] : batch) {
    if (bytes.empty()) continue;
    if (exists_ && !exists_(function)) continue;
    if (auto it = dropped.find(function); it != dropped.end()) {
      // Said in the log itself, where the reader notices the gap.
      WriteLocked(function, fmt::format("[lambent: {} bytes of output dropped: over this function's log limit]\n",
                                        it->second));
    }
    WriteLocked(function, bytes);
  }
}

void LogStore::WriteLocked(const std::string& function, std::string_view bytes) {
  const auto path = Current(function);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) {
    spdlog::warn("open({}) for the function log: {}", path.string(), std::strerror(errno));
    return;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0 && st.st_size + int64_t(bytes.size()) > file_limit_) {
    // The current file becomes the previous one (replacing the one before it): the log keeps
    // between one and two files' worth of its newest lines.
    if (::rename(path.c_str(), Previous(function).c_str()) != 0) {
      spdlog::warn("rename({}): {}", path.string(), std::strerror(errno));
    } else {
      fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
      if (!fd) {
        spdlog::warn("open({}) for the function log: {}", path.string(), std::strerror(errno));
        return;
      }
    }
  }
  if (int64_t(bytes.size()) > file_limit_) bytes.remove_prefix(bytes.size() - size_t(file_limit_));
  while (!bytes.empty()) {
    ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::warn("write({}): {}", path.string(), std::strerror(errno));
      return;
    }
    bytes.remove_prefix(size_t(n));
  }
}

void LogStore::Remove(const std::string& function) {
  // After a flush under way, so that it cannot write the files again once they are gone.
  std::lock_guard writing(write_mutex_);
  {
    std::lock_guard lock(mutex_);
    pending_.erase(function);
    dropped_.erase(function);
    mid_line_.erase(function);
  }
  for (const auto& path : {Current(function), Previous(function)}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("unlink({}): {}", path.string(), std::strerror(errno));
    }
  }
}

void LogStore::RemoveAllExcept(const std::set<std::string>& functions) {
  std::lock_guard writing(write_mutex_);
  std::lock_guard lock(mutex_);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::string_view function = name;
    for (std::string_view suffix : {".log", ".log.1"}) {
      if (function.ends_with(suffix)) {
        function.remove_suffix(suffix.size());
        break;
      }
    }
    if (function.size() == name.size() || functions.contains(std::string(function))) continue;
    if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("unlink({}): {}", it->path().string(), std::strerror(errno));
    }
  }
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

// A function's log as one byte sequence: the previous file, then the current one, each as
// long as it was when opened.
class Log {
 public:
  void Add(Fd fd, off_t size) {
    files_.push_back({std::move(fd), size});
    size_ += size;
  }
  bool empty() const { return files_.empty(); }
  off_t size() const { return size_; }
  bool ReadAt(char* data, size_t size, off_t offset) const {
    for (const auto& file : files_) {
      if (size == 0) break;
      if (offset >= file.size) {
        offset -= file.size;
        continue;
      }
      size_t n = std::min(size, size_t(file.size - offset));
      if (!PreadAll(file.fd.get(), data, n, offset)) return false;
      data += n;
      size -= n;
      offset = 0;
    }
    return size == 0;
  }

 private:
  struct File {
    Fd fd;
    off_t size;
  };
  std::vector<File> files_;
  off_t size_ = 0;
};

}  // namespace

Result<std::string> LogStore::Read(const std::string& function, size_t tail_lines, bool timestamps) {
  auto text = ReadStored(function, tail_lines);
  if (!text || timestamps || !timestamp_lines_) return text;
  return WithoutStamps(*text);
}

Result<std::string> LogStore::ReadStored(const std::string& function, size_t tail_lines) {
  // The files are opened under the lock, so that a rotation cannot come between the two
  // opens, and read without it: Append is on the invoke path and must not wait for a big read.
  Log log;
  {
    std::lock_guard writing(write_mutex_);
    FlushWriting();
    for (const auto& path : {Previous(function), Current(function)}) {
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) continue;
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return tl::unexpected(Error::System("fstat", path.string(), errno));
      log.Add(std::move(fd), st.st_size);
    }
  }
  if (log.empty()) return tl::unexpected(Error::NotFound("no log for function " + function));
  const off_t size = log.size();
  if (tail_lines == 0) {
    std::string text(size_t(size), '\0');
    if (!log.ReadAt(text.data(), text.size(), 0)) {
      return tl::unexpected(Error::System("read", Current(function).string(), errno));
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
    if (!log.ReadAt(block.data(), block.size(), pos)) {
      return tl::unexpected(Error::System("read", Current(function).string(), errno));
    }
    for (size_t i = block.size(); i > 0; --i) {
      // The log's final newline ends its last line; every other one starts a line.
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
