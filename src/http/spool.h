#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "base/error.h"
#include "base/fd.h"

namespace lambent::http {

// What partly received request bodies may hold, shared by every session of a server.
// Bodies stay in memory up to a per-body size and a total across sessions; past either they
// go to unlinked files in `dir`, so a client trickling a large upload costs disk, not memory.
// Thread-safe: the counters are atomics.
class BodySpool {
 public:
  struct Limits {
    // A body larger than this goes to a file. Above every invoke payload (6 MB), so the data
    // path never touches the disk.
    uint64_t memory_per_body = 8 << 20;
    // All bodies in memory together; past it new bodies (and growing ones) go to files.
    uint64_t memory_total = 64 << 20;
    // All spooled bytes together; past it a body is refused (ENOSPC).
    uint64_t disk_total = 4ull << 30;
  };

  BodySpool(std::filesystem::path dir, Limits limits) : dir_(std::move(dir)), limits_(limits) {}

  // Takes `n` bytes of the memory (disk) allowance; false, taking nothing, when it is spent.
  bool ChargeMemory(uint64_t n) { return Charge(memory_, n, limits_.memory_total); }
  void ReleaseMemory(uint64_t n) { memory_ -= n; }
  bool ChargeDisk(uint64_t n) { return Charge(disk_, n, limits_.disk_total); }
  void ReleaseDisk(uint64_t n) { disk_ -= n; }
  // A new file for one body, already unlinked: it goes when its descriptor closes.
  Result<Fd> CreateFile() const;

  const Limits& limits() const { return limits_; }
  uint64_t memory_in_use() const { return memory_; }
  uint64_t disk_in_use() const { return disk_; }

 private:
  static bool Charge(std::atomic<uint64_t>& used, uint64_t n, uint64_t limit);

  const std::filesystem::path dir_;
  const Limits limits_;
  std::atomic<uint64_t> memory_{0};
  std::atomic<uint64_t> disk_{0};
};

// The body of a request being received: in memory, or in a spool file once the spool says
// so. Move-only; not thread-safe. Releases what it charged to the spool when destroyed or
// taken. Without a spool everything stays in memory.
class SpooledData {
 public:
  SpooledData() = default;
  SpooledData(SpooledData&& other) noexcept;
  SpooledData& operator=(SpooledData&& other) noexcept;
  ~SpooledData() { Release(); }

  // Must be called before the first byte arrives. `spool` must outlive this body.
  void set_spool(BodySpool* spool) { spool_ = spool; }
  uint64_t size() const { return file_ ? file_size_ : memory_.size(); }
  bool spooled() const { return file_.valid(); }

  // Called once, when the header is known: a body known to be large goes to a file at once.
  Result<void> Begin(boost::optional<uint64_t> length);
  Result<void> Append(const char* data, size_t n);
  // The whole body (read back from its file if it was spooled); the charges are released.
  Result<std::string> Take();

 private:
  Result<void> Spill();
  Result<void> WriteToFile(const char* data, size_t n);
  void Release();

  BodySpool* spool_ = nullptr;
  std::string memory_;
  uint64_t memory_charged_ = 0;
  Fd file_;
  uint64_t file_size_ = 0;
  uint64_t disk_charged_ = 0;
};

// A Beast Body for request parsing (no writer) that stores into SpooledData. A spool that
// is full or a failed write ends the parse with the error's errno (no_space_on_device when
// the spool's disk allowance is spent).
struct SpooledBody {
  using value_type = SpooledData;

  class reader {
   public:
    template <bool kIsRequest, class Fields>
    reader(boost::beast::http::header<kIsRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<uint64_t>& length, boost::beast::error_code& ec) {
      ec = ToErrorCode(body_.Begin(length));
    }
    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      size_t n = 0;
      for (auto buffer : boost::beast::buffers_range_ref(buffers)) {
        ec = ToErrorCode(body_.Append(static_cast<const char*>(buffer.data()), buffer.size()));
        if (ec) return n;
        n += buffer.size();
      }
      return n;
    }
    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    static boost::beast::error_code ToErrorCode(const Result<void>& result);
    value_type& body_;
  };
};

}  // namespace lambent::http
