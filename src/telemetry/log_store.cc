#include "telemetry/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/fd.h"

namespace lambent::telemetry {

namespace {
// Each function's retention; no function is named so (a name has no dot... nor this suffix).
constexpr const char* kRetentionFile = "retention.conf";
// Each function's custom log group, "<function> <group>" a line (neither has a space).
constexpr const char* kGroupsFile = "groups.conf";
constexpr std::string_view kDefaultGroupPrefix = "/aws/lambda/";

// A function name as Lambda allows it (and so a safe file name).
bool IsFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 140) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Writes `text` to `dir/name` through a rename, so a crash leaves the old file or the new one.
void ReplaceFile(const std::filesystem::path& dir, const char* name, const std::string& text) {
  auto path = dir / name;
  auto temp = dir / (std::string(name) + ".new");
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != ssize_t(text.size()) ||
      ::rename(temp.c_str(), path.c_str()) != 0) {
    spdlog::warn("writing {}: {}", path.string(), std::strerror(errno));
  }
}
}  // namespace

LogStore::LogStore(std::filesystem::path dir, LogLimits limits)
    : dir_(std::move(dir)),
      file_limit_(std::max<int64_t>(1, limits.max_bytes_per_function / 2)),
      exists_(std::move(limits.exists)),
      timestamp_lines_(limits.timestamp_lines),
      max_total_bytes_(limits.max_total_bytes),
      enforce_every_ms_(std::max<int64_t>(1, limits.enforce_every_ms)),
      day_ms_(std::max<int64_t>(1, limits.day_ms)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // "<function> <days>" a line: small, and read once.
  if (FILE* file = std::fopen((dir_ / kRetentionFile).c_str(), "re")) {
    char name[256];
    int days;
    while (std::fscanf(file, "%255s %d", name, &days) == 2) retention_days_[name] = days;
    std::fclose(file);
  }
  if (FILE* file = std::fopen((dir_ / kGroupsFile).c_str(), "re")) {
    char name[256], group[513];
    while (std::fscanf(file, "%255s %512s", name, group) == 2) {
      if (IsFunctionName(name)) groups_[name] = group;
    }
    std::fclose(file);
  }
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

// After the stamp, the stream that wrote the line, between two unit separators: a byte no
// text log has, so the prefix is found without any index, and costs the stream's name.
constexpr char kStreamMark = '\x1f';

// The prefix's length after the stamp (0 when the line names no stream).
size_t StreamMarkSize(std::string_view line) {
  if (line.size() <= kStampSize || line[kStampSize] != kStreamMark) return 0;
  size_t end = line.find(kStreamMark, kStampSize + 1);
  return end == std::string_view::npos ? 0 : end + 1 - kStampSize;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

int64_t ParseStamp(std::string_view line) {
  auto num = [&](size_t at, size_t n) {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (line[i] - '0');
    return v;
  };
  int64_t days = DaysFromCivil(num(0, 4), unsigned(num(5, 2)), unsigned(num(8, 2)));
  return ((days * 24 + num(11, 2)) * 60 + num(14, 2)) * 60'000 + num(17, 2) * 1000 + num(20, 3);
}

// The text with each line's prefix taken off, or turned into "<stamp> " when `keep_stamps`
// (lines written without one stay as they are).
std::string WithoutPrefixes(std::string_view text, bool keep_stamps) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    std::string_view line = text.substr(pos, end - pos);
    if (StartsWithStamp(line)) {
      size_t mark = StreamMarkSize(line);
      if (keep_stamps) out.append(line.substr(0, kStampSize));
      line.remove_prefix(kStampSize + mark);
    }
    out.append(line);
    pos = end;
  }
  return out;
}

// The events of `text`, whole lines only, those before `since_ms` left out. A line without a
// stamp (a note of the store's, a log of an older version) takes the time of the one before.
void ParseEvents(std::string_view text, int64_t since_ms, std::vector<LogEvent>& events) {
  int64_t time = 0;
  std::string_view stream;
  for (size_t pos = 0; pos < text.size();) {
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (StartsWithStamp(line)) {
      time = ParseStamp(line);
      size_t mark = StreamMarkSize(line);
      stream = mark ? line.substr(kStampSize + 1, mark - 2) : std::string_view();
      line.remove_prefix(kStampSize + mark);
    }
    if (time < since_ms) continue;
    events.push_back({time, std::string(stream), std::string(line)});
  }
}

}  // namespace

void LogStore::Append(const std::string& function, std::string_view bytes, std::string_view stream) {
  std::lock_guard lock(mutex_);
  std::string& pending = pending_[function];
  if (!timestamp_lines_) {
    pending.append(bytes);
  } else {
    // Output arrives in pieces that may end mid-line: a stamp goes where a line starts.
    std::string stamp = Stamp(NowEpochMs());
    if (!stream.empty()) {
      stamp += kStreamMark;
      stamp += stream;
      stamp += kStreamMark;
    }
    bool mid_line = mid_line_.contains(function);
    // One allocation at most per append, however many lines it holds, and geometric growth.
    size_t lines = size_t(std::count(bytes.begin(), bytes.end(), '\n')) + 1;
    size_t needed = pending.size() + bytes.size() + lines * stamp.size();
    if (needed > pending.capacity()) pending.reserve(std::max(needed, 2 * pending.capacity()));
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
    written_since_check_ += int64_t(bytes.size());
  }
  int64_t now = NowEpochMs();
  if (now - last_enforced_ms_ >= enforce_every_ms_ ||
      (max_total_bytes_ > 0 && written_since_check_ > max_total_bytes_ / 32)) {
    last_enforced_ms_ = now;
    Enforce();
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
  {
    std::lock_guard lock(retention_mutex_);
    if (retention_days_.erase(function)) SaveRetention();
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
  std::lock_guard groups(group_mutex_);
  if (std::erase_if(groups_, [&](const auto& entry) { return !functions.contains(entry.first); }) > 0) {
    SaveGroups();
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
  if (!text || !timestamp_lines_) return text;
  return WithoutPrefixes(*text, timestamps);
}

Result<void> LogStore::OpenFiles(const std::string& function, const std::function<void(Fd, off_t)>& add) {
  // The files are opened under the lock, so that a rotation cannot come between the two
  // opens, and read without it: Append is on the invoke path and must not wait for a big read.
  std::lock_guard writing(write_mutex_);
  FlushWriting();
  for (const auto& path : {Previous(function), Current(function)}) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return tl::unexpected(Error::System("fstat", path.string(), errno));
    add(std::move(fd), st.st_size);
  }
  return Ok();
}

Result<std::string> LogStore::ReadStored(const std::string& function, size_t tail_lines) {
  Log log;
  if (auto opened = OpenFiles(function, [&log](Fd fd, off_t size) { log.Add(std::move(fd), size); }); !opened) {
    return tl::unexpected(opened.error());
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

Result<std::vector<LogEvent>> LogStore::Events(const std::string& function, int64_t since_ms) {
  Log log;
  if (auto opened = OpenFiles(function, [&log](Fd fd, off_t size) { log.Add(std::move(fd), size); }); !opened) {
    return tl::unexpected(opened.error());
  }
  if (log.empty()) return tl::unexpected(Error::NotFound("no log for function " + function));
  // Lines are appended in time order: blocks are read from the end back until one starts
  // with a line older than asked for.
  constexpr off_t kBlock = 256 * 1024;
  std::vector<std::string> blocks;  // last block first
  for (off_t from = log.size(); from > 0;) {
    off_t n = std::min(kBlock, from);
    from -= n;
    std::string block(size_t(n), '\0');
    if (!log.ReadAt(block.data(), block.size(), from)) {
      return tl::unexpected(Error::System("read", Current(function).string(), errno));
    }
    size_t start = 0;
    if (from > 0) {
      size_t newline = block.find('\n');
      start = newline == std::string::npos ? block.size() : newline + 1;
    }
    std::string_view first = std::string_view(block).substr(start);
    bool older = StartsWithStamp(first) && ParseStamp(first) < since_ms;
    if (older) block.erase(0, start);
    blocks.push_back(std::move(block));
    if (older) break;
  }
  std::string text;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) text += *it;
  std::vector<LogEvent> events;
  ParseEvents(text, since_ms, events);
  return events;
}

Result<std::vector<LogStreamInfo>> LogStore::Streams(const std::string& function) {
  auto events = Events(function, 0);
  if (!events) return tl::unexpected(events.error());
  std::map<std::string, LogStreamInfo> streams;
  for (const auto& event : *events) {
    if (event.stream.empty()) continue;
    auto [it, added] = streams.try_emplace(event.stream);
    LogStreamInfo& info = it->second;
    if (added) {
      info.name = event.stream;
      info.first_event = event.timestamp;
    }
    info.last_event = std::max(info.last_event, event.timestamp);
    info.stored_bytes += int64_t(event.message.size()) + 1;
  }
  std::vector<LogStreamInfo> out;
  for (auto& [name, info] : streams) out.push_back(std::move(info));
  return out;
}

std::vector<std::string> LogStore::Functions() {
  std::set<std::string> names;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [function, bytes] : pending_) names.insert(function);
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    for (std::string_view suffix : {".log", ".log.1"}) {
      if (name.ends_with(suffix) && name.size() > suffix.size()) {
        names.insert(name.substr(0, name.size() - suffix.size()));
        break;
      }
    }
  }
  return {names.begin(), names.end()};
}

int64_t LogStore::OldestTime(const std::string& function) {
  std::lock_guard writing(write_mutex_);
  FlushWriting();
  for (const auto& path : {Previous(function), Current(function)}) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    char head[kStampSize];
    if (fd && PreadAll(fd.get(), head, kStampSize, 0) && StartsWithStamp({head, kStampSize})) {
      return ParseStamp({head, kStampSize});
    }
  }
  return 0;
}

void LogStore::Touch(const std::string& function) {
  std::lock_guard writing(write_mutex_);
  Fd fd(::open(Current(function).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
}

void LogStore::SetRetention(const std::string& function, std::optional<int> days) {
  std::lock_guard lock(retention_mutex_);
  if (days) {
    retention_days_[function] = *days;
  } else {
    retention_days_.erase(function);
  }
  SaveRetention();
}

std::optional<int> LogStore::Retention(const std::string& function) {
  std::lock_guard lock(retention_mutex_);
  auto it = retention_days_.find(function);
  if (it == retention_days_.end()) return std::nullopt;
  return it->second;
}

void LogStore::SaveRetention() {
  std::string text;
  for (const auto& [function, days] : retention_days_) text += fmt::format("{} {}\n", function, days);
  ReplaceFile(dir_, kRetentionFile, text);
}

void LogStore::SetGroup(const std::string& function, const std::string& group) {
  // Spaces would break the file's lines; the API allows none in either.
  if (!IsFunctionName(function) || group.find_first_of(" \n\t") != std::string::npos) return;
  std::lock_guard lock(group_mutex_);
  bool custom = !group.empty() && group != std::string(kDefaultGroupPrefix) + function;
  auto it = groups_.find(function);
  if (custom ? (it != groups_.end() && it->second == group) : it == groups_.end()) return;
  if (custom) {
    groups_[function] = group;
  } else {
    groups_.erase(it);
  }
  SaveGroups();
}

std::string LogStore::GroupOf(const std::string& function) {
  std::lock_guard lock(group_mutex_);
  auto it = groups_.find(function);
  return it != groups_.end() ? it->second : std::string(kDefaultGroupPrefix) + function;
}

std::vector<std::string> LogStore::FunctionsOf(std::string_view group) {
  std::vector<std::string> out;
  std::lock_guard lock(group_mutex_);
  for (const auto& [function, custom] : groups_) {
    if (custom == group) out.push_back(function);
  }
  if (group.starts_with(kDefaultGroupPrefix)) {
    std::string name(group.substr(kDefaultGroupPrefix.size()));
    if (IsFunctionName(name) && !groups_.contains(name)) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void LogStore::SaveGroups() {
  std::string text;
  for (const auto& [function, group] : groups_) text += fmt::format("{} {}\n", function, group);
  ReplaceFile(dir_, kGroupsFile, text);
}

void LogStore::Enforce() {
  std::map<std::string, int> retention;
  {
    std::lock_guard lock(retention_mutex_);
    retention = retention_days_;
  }
  int64_t now = NowEpochMs();
  for (const auto& [function, days] : retention) ApplyRetention(function, now - int64_t(days) * day_ms_);
  if (max_total_bytes_ > 0) ApplyTotalCap();
  written_since_check_ = 0;
}

void LogStore::ApplyRetention(const std::string& function, int64_t cutoff_ms) {
  // A file's lines are in time order: one whose first line is recent enough is kept whole,
  // one whose last line is too old goes whole, and only the one between is rewritten.
  for (const auto& path : {Previous(function), Current(function)}) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    char head[kStampSize];
    if (!PreadAll(fd.get(), head, kStampSize, 0) || !StartsWithStamp({head, kStampSize}) ||
        ParseStamp({head, kStampSize}) >= cutoff_ms) {
      continue;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) continue;
    std::string text(size_t(st.st_size), '\0');
    if (!PreadAll(fd.get(), text.data(), text.size(), 0)) continue;
    size_t keep = text.size();
    for (size_t pos = 0; pos < text.size();) {
      std::string_view line = std::string_view(text).substr(pos);
      if (StartsWithStamp(line) && ParseStamp(line) >= cutoff_ms) {
        keep = pos;
        break;
      }
      size_t newline = text.find('\n', pos);
      if (newline == std::string::npos) break;
      pos = newline + 1;
    }
    if (keep == text.size()) {
      // The group stays when its last lines expire: the current file is emptied, not removed.
      if (path == Current(function)) {
        Fd empty(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
      } else {
        ::unlink(path.c_str());
      }
      continue;
    }
    auto temp = path.string() + ".new";
    Fd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    std::string_view rest = std::string_view(text).substr(keep);
    if (!out || ::write(out.get(), rest.data(), rest.size()) != ssize_t(rest.size()) ||
        ::rename(temp.c_str(), path.c_str()) != 0) {
      spdlog::warn("retention of {}: {}", path.string(), std::strerror(errno));
      ::unlink(temp.c_str());
    }
  }
}

void LogStore::ApplyTotalCap() {
  struct File {
    std::filesystem::path path;
    int64_t size;
    int64_t mtime_ns;
  };
  std::vector<File> files;
  int64_t total = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".log") && !name.ends_with(".log.1")) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    files.push_back({it->path(), int64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec});
    total += int64_t(st.st_size);
  }
  if (total <= max_total_bytes_) return;
  // Oldest first, down to 90% of the cap so that the next write does not start it again.
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.mtime_ns < b.mtime_ns; });
  for (const auto& file : files) {
    if (total <= max_total_bytes_ / 10 * 9) break;
    if (::unlink(file.path.c_str()) == 0) {
      total -= file.size;
      spdlog::info("log {} removed: the logs are over their total cap", file.path.filename().string());
    }
  }
}

}  // namespace lambent::telemetry
