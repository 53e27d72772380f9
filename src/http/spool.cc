#include "http/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include <boost/system/error_code.hpp>

namespace lambent::http {

bool BodySpool::Charge(std::atomic<uint64_t>& used, uint64_t n, uint64_t limit) {
  uint64_t now = used.load(std::memory_order_relaxed);
  do {
    if (n > limit || now > limit - n) return false;
  } while (!used.compare_exchange_weak(now, now + n, std::memory_order_relaxed));
  return true;
}

Result<Fd> BodySpool::CreateFile() const {
  Fd fd(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return tl::unexpected(Error::System("open(O_TMPFILE)", dir_.string(), errno));
  }
  // A file system without O_TMPFILE: a named file, unlinked at once.
  std::string path = (dir_ / "body-XXXXXX").string();
  fd.reset(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("mkostemp", path, errno));
  ::unlink(path.c_str());
  return fd;
}

SpooledData::SpooledData(SpooledData&& other) noexcept { *this = std::move(other); }

SpooledData& SpooledData::operator=(SpooledData&& other) noexcept {
  if (this == &other) return *this;
  Release();
  spool_ = other.spool_;
  memory_ = std::move(other.memory_);
  memory_charged_ = std::exchange(other.memory_charged_, 0);
  file_ = std::move(other.file_);
  file_size_ = std::exchange(other.file_size_, 0);
  disk_charged_ = std::exchange(other.disk_charged_, 0);
  return *this;
}

void SpooledData::Release() {
  if (!spool_) return;
  spool_->ReleaseMemory(std::exchange(memory_charged_, 0));
  spool_->ReleaseDisk(std::exchange(disk_charged_, 0));
}

Result<void> SpooledData::Begin(boost::optional<uint64_t> length) {
  if (!length || *length == 0) return Ok();
  if (!spool_) {
    memory_.reserve(*length);
    return Ok();
  }
  // A body of known size is charged in full up front: what is reserved is what it holds
  // once the client has sent it, and a spool that cannot take it says so before any byte.
  if (*length <= spool_->limits().memory_per_body && spool_->ChargeMemory(*length)) {
    memory_charged_ = *length;
    memory_.reserve(*length);
    return Ok();
  }
  if (!spool_->ChargeDisk(*length)) {
    return tl::unexpected(Error::System("spool", "request body", ENOSPC));
  }
  disk_charged_ = *length;
  auto fd = spool_->CreateFile();
  if (!fd) return tl::unexpected(fd.error());
  file_ = std::move(*fd);
  return Ok();
}

Result<void> SpooledData::Append(const char* data, size_t n) {
  if (n == 0) return Ok();
  if (file_) return WriteToFile(data, n);
  if (spool_ && memory_.size() + n > memory_charged_) {
    // A body of unknown size (chunked) is charged as it grows, until it goes to disk.
    uint64_t more = memory_.size() + n - memory_charged_;
    if (memory_.size() + n > spool_->limits().memory_per_body || !spool_->ChargeMemory(more)) {
      if (auto ok = Spill(); !ok) return ok;
      return WriteToFile(data, n);
    }
    memory_charged_ += more;
  }
  memory_.append(data, n);
  return Ok();
}

Result<void> SpooledData::Spill() {
  auto fd = spool_->CreateFile();
  if (!fd) return tl::unexpected(fd.error());
  file_ = std::move(*fd);
  std::string held = std::move(memory_);
  memory_ = std::string();
  spool_->ReleaseMemory(std::exchange(memory_charged_, 0));
  return WriteToFile(held.data(), held.size());
}

Result<void> SpooledData::WriteToFile(const char* data, size_t n) {
  if (file_size_ + n > disk_charged_) {
    uint64_t more = file_size_ + n - disk_charged_;
    if (!spool_->ChargeDisk(more)) return tl::unexpected(Error::System("spool", "request body", ENOSPC));
    disk_charged_ += more;
  }
  while (n > 0) {
    ssize_t written = ::write(file_.get(), data, n);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return tl::unexpected(Error::System("write", "request body spool file", errno));
    data += written;
    n -= size_t(written);
    file_size_ += uint64_t(written);
  }
  return Ok();
}

Result<std::string> SpooledData::Take() {
  std::string body;
  if (!file_) {
    body = std::move(memory_);
  } else {
    body.resize(file_size_);
    uint64_t done = 0;
    while (done < file_size_) {
      ssize_t n = ::pread(file_.get(), body.data() + done, file_size_ - done, off_t(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return tl::unexpected(Error::System("pread", "request body spool file", errno));
      if (n == 0) return tl::unexpected(Error::Internal("request body spool file is shorter than written"));
      done += uint64_t(n);
    }
    file_.reset();
    file_size_ = 0;
  }
  memory_ = std::string();
  Release();
  return body;
}

boost::beast::error_code SpooledBody::reader::ToErrorCode(const Result<void>& result) {
  if (result) return {};
  int code = result.error().sys_errno() ? result.error().sys_errno() : EIO;
  return boost::beast::error_code(code, boost::system::generic_category());
}

}  // namespace lambent::http
