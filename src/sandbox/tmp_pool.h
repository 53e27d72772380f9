#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

// Disk-backed /tmp for environments, as Lambda gives a function its EphemeralStorage on disk
// rather than in its memory: an ext4 file system on a loop device over a sparse file, handed
// to the environment's init as a detached mount (like /var/task) and moved onto its /tmp.
//
// Nothing of an image outlives its last user: the sparse file is unlinked as soon as the loop
// device holds it, and the loop device clears itself (LO_FLAGS_AUTOCLEAR) when the file
// system on it is unmounted, which happens when the last reference to the mount goes (the
// environment's mount namespace ending, or the daemon's descriptor closing, even at a
// SIGKILL). Making an image takes milliseconds and a process (mkfs.ext4), so a pool keeps a
// few ready per size, made on a thread of its own.
namespace lambent::sandbox {

// Whether this host can make images: root, /dev/loop-control and mkfs.ext4. Cheap (no image
// is made; the pool finds out the rest). "" or why not.
std::string TmpImageSupport();

// The size of the sparse file whose ext4 file system offers `size_mb` MiB to files.
int64_t TmpImageBytes(int size_mb);

// A formatted, unlinked sparse file of TmpImageBytes(size_mb) in `dir`: the template each
// image of that size is copied from (only its few written blocks are copied).
Result<Fd> FormatTmpTemplate(const std::filesystem::path& dir, int size_mb);

// A fresh image copied from `template_fd`, on a loop device, as a detached mount: nosuid,
// nodev, its root empty (no lost+found) and mode 1777, owned by root. Closing the descriptor
// unmounts and frees it unless it has been attached somewhere meanwhile.
Result<Fd> MakeTmpImage(const std::filesystem::path& dir, int template_fd);

struct TmpPoolOptions {
  std::filesystem::path dir;             // where the sparse files live (unlinked at once)
  int per_size = 2;                      // ready images kept for each size in demand
  int max_per_size = 8;                  // ... raised toward this by misses
  std::vector<int> initial_sizes{512};   // made at start: Lambda's default EphemeralStorage
  std::chrono::seconds size_ttl{600};    // a size nobody asked for this long is dropped
  size_t max_sizes = 8;
};

class TmpPool;

// An image taken from a TmpPool, for as long as the daemon needs its descriptor (until init
// has been sent it). Its destructor hands the descriptor back to the pool's thread to close.
// Move-only; not thread-safe.
class TmpImage {
 public:
  TmpImage() = default;
  TmpImage(TmpPool* pool, Fd fd) : pool_(pool), fd_(std::move(fd)) {}
  TmpImage(TmpImage&& other) noexcept = default;
  TmpImage& operator=(TmpImage&& other) noexcept;
  ~TmpImage();
  int fd() const { return fd_.get(); }
  explicit operator bool() const { return fd_.valid(); }

 private:
  TmpPool* pool_ = nullptr;
  Fd fd_;
};

// Keeps ready images per size, made and discarded on its own thread. Thread-safe.
class TmpPool {
 public:
  // Makes one image of `size_mb`; tests inject their own.
  using Maker = std::function<Result<Fd>(int size_mb)>;

  // Starts the thread, which makes options.initial_sizes first. Without `make`, images are
  // made by FormatTmpTemplate and MakeTmpImage in options.dir.
  explicit TmpPool(TmpPoolOptions options, Maker make = nullptr);
  // Stops the thread; images not taken are closed.
  ~TmpPool();
  TmpPool(const TmpPool&) = delete;
  TmpPool& operator=(const TmpPool&) = delete;

  // A ready image of exactly `size_mb`, its root chowned to `uid`:`gid` (root of the
  // environment it is for); an invalid Fd when none is ready, or images cannot be made on
  // this host (then said once in the log). Either way the size counts as in demand and the
  // thread makes more. Never waits for an image to be made: one chown at most.
  Fd Take(int size_mb, uid_t uid, gid_t gid);
  // Take, as a TmpImage that discards itself here.
  TmpImage TakeImage(int size_mb, uid_t uid, gid_t gid) { return {this, Take(size_mb, uid, gid)}; }
  // Closes `image` on the pool's thread: the last close of a mount nobody attached unmounts
  // the file system and detaches the loop device, which is not for the io thread.
  void Discard(Fd image);

  struct Stats {
    int64_t taken = 0;   // Take found one
    int64_t missed = 0;  // Take found none
    int64_t made = 0;
    int64_t failed = 0;  // making one failed
    int ready = 0;
    std::string error;   // the last failure
  };
  Stats stats() const;
  // Blocks until `size_mb` has `count` ready images or `timeout` passes (tests, start-up).
  bool WaitReady(int size_mb, int count, std::chrono::milliseconds timeout);

 private:
  struct Size {
    std::deque<Fd> ready;
    int target = 0;
    std::chrono::steady_clock::time_point last_demand;
  };

  void Run();
  Result<Fd> MakeDefault(int size_mb);
  Size& Demand(int size_mb);  // mutex_ held

  TmpPoolOptions options_;
  Maker make_;
  std::map<int, Fd> templates_;  // the thread's own: formatted once per size

  mutable std::mutex mutex_;
  std::condition_variable wake_;      // the thread: work to do
  std::condition_variable made_one_;  // WaitReady
  std::map<int, Size> sizes_;         // guarded by mutex_
  std::vector<Fd> discarded_;         // guarded by mutex_
  Stats stats_;                       // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
  // No image is made before this: the cold start that just took one gets the CPU first.
  std::chrono::steady_clock::time_point quiet_until_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace lambent::sandbox
