#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/error.h"

namespace lambent::code {

// Lambda's limit on a function's unzipped code, in bytes (250 MB).
inline constexpr int64_t kDefaultMaxUnzippedBytes = 262144000;

// A stored code package.
struct PackageInfo {
  std::string sha256_hex;     // hex of SHA-256 of the zip bytes: the storage key
  std::string sha256_base64;  // Lambda's CodeSha256 (base64 of the raw digest)
  int64_t zip_size = 0;       // Lambda's CodeSize
  int64_t unzipped_size = 0;  // bytes of file data in `dir`
  std::filesystem::path dir;  // the extracted tree; read it, never write it
  std::filesystem::path zip;  // the zip as uploaded, e.g. for GetFunction's Code
  // While this info or a copy of it lives, Collect() leaves the package alone: hold it while
  // a sandbox runs from `dir`, or until the function that is to refer to the package has
  // been stored. Null in infos the store did not hand out.
  std::shared_ptr<const void> in_use;
};

// Function code packages on disk, content-addressed by the SHA-256 of the zip:
//   <root>/<hex>/      the extracted tree
//   <root>/<hex>.zip   the zip as uploaded
//   <root>/.tmp/       work in progress, cleared by Open()
// A package appears by rename() only once complete, so a crash never leaves half of one
// visible. Thread-safe: Put, Get, Collect and RemoveAllExcept may run concurrently, with the
// same or different zips. At most one PackageStore may be open on a root at a time. It must
// outlive every PackageInfo it handed out.
class PackageStore {
 public:
  // Opens the store at `root`, creating it if missing, and discards what a crash left in
  // <root>/.tmp. `max_unzipped_bytes` bounds each package's extracted file data.
  static Result<std::unique_ptr<PackageStore>> Open(
      std::filesystem::path root, int64_t max_unzipped_bytes = kDefaultMaxUnzippedBytes);

  PackageStore(const PackageStore&) = delete;
  PackageStore& operator=(const PackageStore&) = delete;

  // Validates and stores the untrusted zip `zip_bytes` (see ExtractZip in code/unzip.h for
  // what is rejected; every rejection is Error::Invalid). Idempotent by content: storing the
  // same bytes again costs a hash and returns the same info. The info is in use (see
  // PackageInfo::in_use).
  Result<PackageInfo> Put(std::string_view zip_bytes);

  // The stored package with this key (lowercase hex), also after a restart, in use while the
  // info lives. NotFound if absent or if `sha256_hex` is not a key at all.
  Result<PackageInfo> Get(std::string_view sha256_hex);

  // The keys of the packages functions refer to. Called with the store's lock held, so it
  // must not call into the store.
  using Referenced = std::function<std::set<std::string>()>;
  // Runs a task off the calling thread (a worker pool, say): a package in use goes when its
  // last holder lets go, which may be on a thread that must not wait for a deletion.
  using Background = std::function<void(std::function<void()>)>;
  // Turns Collect() on. Call once, before Collect.
  void EnableCollection(Referenced referenced, Background background);
  // Deletes every package that `referenced` does not name and that is not in use; one in use
  // is deleted (through `background`) once its last holder lets go, if nothing refers to it
  // by then. Blocks while it deletes: call off the io thread. Failures are logged; what is
  // left over goes in the next collection.
  void Collect();

  // Deletes every stored package whose key is not in `keep`, e.g. after updates and deletes.
  // A package Put concurrently is deleted too unless it is in `keep`: callers run this
  // with a `keep` that already covers every package they may still reference, and must not
  // delete a package a sandbox is still using. Failures are logged, not returned: what is
  // left over goes in the next collection.
  void RemoveAllExcept(const std::set<std::string>& keep);

 private:
  PackageStore(std::filesystem::path root, int64_t max_unzipped_bytes);

  PackageInfo InfoFor(const std::string& hex, int64_t zip_size, int64_t unzipped_size) const;
  // `info` with a fresh hold on its package.
  PackageInfo InUseLocked(PackageInfo info);
  void Release(const std::string& hex);

  const std::filesystem::path root_;  // canonical: the extractor refuses symlinks in paths
  const std::filesystem::path tmp_;
  const int64_t max_unzipped_bytes_;

  // Serialises making packages visible and removing them, and guards the cache.
  std::mutex mutex_;
  std::map<std::string, PackageInfo> known_;  // GUARDED_BY(mutex_), never in use
  std::map<std::string, int> holders_;        // GUARDED_BY(mutex_): in_use counts
  // Packages the last collection found unreferenced but in use.
  std::set<std::string> deferred_;  // GUARDED_BY(mutex_)
  Referenced referenced_;                   // set once, before use
  Background background_;                   // set once, before use
};

}  // namespace lambent::code
