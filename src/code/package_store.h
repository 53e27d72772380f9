#pragma once

#include <cstdint>
#include <filesystem>
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
};

// Function code packages on disk, content-addressed by the SHA-256 of the zip:
//   <root>/<hex>/      the extracted tree
//   <root>/<hex>.zip   the zip as uploaded
//   <root>/.tmp/       work in progress, cleared by Open()
// A package appears by rename() only once complete, so a crash never leaves half of one
// visible. Thread-safe: Put, Get and RemoveAllExcept may run concurrently, with the same or
// different zips. At most one PackageStore may be open on a root at a time.
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
  // same bytes again costs a hash and returns the same info.
  Result<PackageInfo> Put(std::string_view zip_bytes);

  // The stored package with this key (lowercase hex), also after a restart. NotFound if
  // absent or if `sha256_hex` is not a key at all.
  Result<PackageInfo> Get(std::string_view sha256_hex) const;

  // Deletes every stored package whose key is not in `keep`, e.g. after updates and deletes.
  // A package Put concurrently is deleted too unless it is in `keep`: callers run this
  // with a `keep` that already covers every package they may still reference, and must not
  // delete a package a sandbox is still using. Failures are logged, not returned: what is
  // left over goes in the next collection.
  void RemoveAllExcept(const std::set<std::string>& keep);

 private:
  PackageStore(std::filesystem::path root, int64_t max_unzipped_bytes);

  PackageInfo InfoFor(const std::string& hex, int64_t zip_size, int64_t unzipped_size) const;

  const std::filesystem::path root_;  // canonical: the extractor refuses symlinks in paths
  const std::filesystem::path tmp_;
  const int64_t max_unzipped_bytes_;

  // Serialises making packages visible and removing them, and guards the cache.
  mutable std::mutex mutex_;
  mutable std::map<std::string, PackageInfo> known_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::code
