#include "code/package_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/encoding.h"
#include "base/fd.h"
#include "code/unzip.h"

namespace lambent::code {

namespace fs = std::filesystem;

namespace {

constexpr size_t kKeyDigits = 64;
constexpr std::string_view kZipSuffix = ".zip";

bool IsKey(std::string_view s) {
  return s.size() == kKeyDigits && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// `hex` is a key.
std::string HexDecode(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  }
  return out;
}

// Gives the directory `path` owner read, write and search permission; false if it is not a
// directory. Failures show up in what the caller does next.
bool MakeOwnerWritable(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  if ((st.st_mode & 0700) != 0700) (void)::chmod(path.c_str(), (st.st_mode & 07777) | 0700);
  return true;
}

// A package may have directories without owner write or search permission, which would stop
// a daemon not running as root from deleting their contents.
void MakeWritable(const fs::path& path) {
  if (!MakeOwnerWritable(path)) return;
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    MakeWritable(it->path());
  }
}

// Deletes `path` and everything below it; a failure is logged, and Open() or the next
// collection retries.
void RemoveTree(const fs::path& path) {
  MakeWritable(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) spdlog::warn("remove_all({}): {}", path.string(), ec.message());
}

// A file or directory under .tmp, removed on destruction unless released. Move-only.
class Scratch {
 public:
  explicit Scratch(fs::path path) : path_(std::move(path)) {}
  Scratch(Scratch&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  Scratch& operator=(Scratch&&) = delete;
  ~Scratch() {
    if (!path_.empty()) RemoveTree(path_);
  }

  const fs::path& path() const { return path_; }
  // The path has been renamed away; nothing is left to remove.
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

Result<Scratch> MakeScratchDir(const fs::path& tmp, std::string_view prefix) {
  std::string name = (tmp / fmt::format("{}XXXXXX", prefix)).string();
  if (::mkdtemp(name.data()) == nullptr)
    return tl::unexpected(Error::System("mkdtemp", name, errno));
  return Scratch(std::move(name));
}

// Writes `data` to a new file under `tmp`, readable by all, and flushes it to the disk.
Result<Scratch> WriteScratchFile(const fs::path& tmp, std::string_view data) {
  std::string name = (tmp / "zip-XXXXXX").string();
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("mkostemp", name, errno));
  Scratch file(name);
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(Error::System("write", name, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fchmod(fd.get(), 0644) != 0) return tl::unexpected(Error::System("fchmod", name, errno));
  if (::fsync(fd.get()) != 0) return tl::unexpected(Error::System("fsync", name, errno));
  return file;
}

// fsync() of a directory (to persist renames in it) or syncfs() of its whole filesystem.
Result<void> Sync(const fs::path& dir, bool whole_filesystem) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("open", dir.string(), errno));
  if (whole_filesystem ? ::syncfs(fd.get()) != 0 : ::fsync(fd.get()) != 0) {
    return tl::unexpected(
        Error::System(whole_filesystem ? "syncfs" : "fsync", dir.string(), errno));
  }
  return Ok();
}

// Bytes of regular-file data under `dir`, as ExtractZip counted them.
Result<int64_t> SumFileSizes(const fs::path& dir) {
  int64_t total = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  while (!ec && it != fs::recursive_directory_iterator()) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      return tl::unexpected(Error::System("lstat", it->path().string(), errno));
    }
    if (S_ISREG(st.st_mode)) total += st.st_size;
    it.increment(ec);
  }
  if (ec) return tl::unexpected(Error::System("readdir", dir.string(), ec.value()));
  return total;
}

bool IsDirectory(const fs::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Error Missing(std::string_view hex) {
  return Error::NotFound(fmt::format("Code package {} not found", hex));
}

}  // namespace

PackageStore::PackageStore(fs::path root, int64_t max_unzipped_bytes)
    : root_(std::move(root)), tmp_(root_ / ".tmp"), max_unzipped_bytes_(max_unzipped_bytes) {}

Result<std::unique_ptr<PackageStore>> PackageStore::Open(fs::path root,
                                                         int64_t max_unzipped_bytes) {
  if (max_unzipped_bytes <= 0) {
    return tl::unexpected(Error::Invalid(
        fmt::format("max_unzipped_bytes must be positive, not {}", max_unzipped_bytes)));
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return tl::unexpected(Error::System("mkdir", root.string(), ec.value()));
  fs::path canonical = fs::canonical(root, ec);
  if (ec) return tl::unexpected(Error::System("realpath", root.string(), ec.value()));

  // What a crash left behind: half-extracted trees, zips not yet renamed into place, trees
  // being deleted. Nothing refers to them.
  const fs::path tmp = canonical / ".tmp";
  RemoveTree(tmp);
  fs::create_directory(tmp, ec);
  if (ec) return tl::unexpected(Error::System("mkdir", tmp.string(), ec.value()));
  return std::unique_ptr<PackageStore>(new PackageStore(std::move(canonical), max_unzipped_bytes));
}

Result<PackageInfo> PackageStore::Put(std::string_view zip_bytes) {
  const std::string hex = HexEncode(Sha256(zip_bytes));
  if (auto stored = Get(hex)) return stored;

  Result<Scratch> tree = MakeScratchDir(tmp_, "put-");
  if (!tree) return tl::unexpected(tree.error());
  // mkdtemp() makes it 0700; it becomes the function's code directory, which the sandboxed
  // user must be able to read.
  if (::chmod(tree->path().c_str(), 0755) != 0) {
    return tl::unexpected(Error::System("chmod", tree->path().string(), errno));
  }
  Result<int64_t> unzipped = ExtractZip(zip_bytes, tree->path(), max_unzipped_bytes_);
  if (!unzipped) return tl::unexpected(unzipped.error());
  Result<Scratch> zip = WriteScratchFile(tmp_, zip_bytes);
  if (!zip) return tl::unexpected(zip.error());
  // The renames below publish the package, so its files must be on the disk first, or a
  // power cut could leave a visible package with empty files. One syncfs() instead of an
  // fsync() per extracted file; uploads are rare.
  if (auto synced = Sync(tmp_, /*whole_filesystem=*/true); !synced) {
    return tl::unexpected(synced.error());
  }

  const PackageInfo info = InfoFor(hex, static_cast<int64_t>(zip_bytes.size()), *unzipped);
  {
    std::lock_guard lock(mutex_);
    // The zip first: a visible tree always has its zip.
    if (::rename(zip->path().c_str(), info.zip.c_str()) != 0) {
      return tl::unexpected(Error::System("rename", info.zip.string(), errno));
    }
    zip->release();
    if (::rename(tree->path().c_str(), info.dir.c_str()) == 0) {
      tree->release();
    } else if (errno != EEXIST && errno != ENOTEMPTY) {
      return tl::unexpected(Error::System("rename", info.dir.string(), errno));
    }
    // Otherwise a concurrent Put of the same bytes got there first with an identical tree;
    // ours is dropped with `tree`, after the lock is released.
  }
  // The renames are made durable without the lock: Get() serves cold starts on the io
  // thread and must not wait for a disk flush. Nothing refers to the package before Put
  // returns, so no one needs it durable sooner.
  if (auto synced = Sync(root_, /*whole_filesystem=*/false); !synced) {
    return tl::unexpected(synced.error());
  }
  std::lock_guard lock(mutex_);
  known_[hex] = info;
  return InUseLocked(info);
}

Result<PackageInfo> PackageStore::Get(std::string_view sha256_hex) {
  if (!IsKey(sha256_hex)) {
    return tl::unexpected(Error::NotFound("Code package not found: not a SHA-256 hex key"));
  }
  const std::string hex(sha256_hex);
  const fs::path dir = root_ / hex;
  const fs::path zip = root_ / (hex + std::string(kZipSuffix));
  int64_t zip_size = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto it = known_.find(hex); it != known_.end()) return InUseLocked(it->second);
    if (!IsDirectory(dir)) return tl::unexpected(Missing(hex));
    struct stat st;
    if (::stat(zip.c_str(), &st) != 0) {
      return tl::unexpected(Error::System("stat", zip.string(), errno));
    }
    zip_size = st.st_size;
  }
  // Walked without the lock, since a big tree takes a while; only the first Get of a
  // package after a restart pays for it.
  Result<int64_t> unzipped = SumFileSizes(dir);
  std::lock_guard lock(mutex_);
  // RemoveAllExcept may have run meanwhile; the cache must not resurrect the package.
  if (!IsDirectory(dir)) return tl::unexpected(Missing(hex));
  if (!unzipped) return tl::unexpected(unzipped.error());
  PackageInfo info = InfoFor(hex, zip_size, *unzipped);
  known_.emplace(hex, info);
  return InUseLocked(info);
}

namespace {

// Deletes every package under `root` for which `keep` is false, and forgets it in `known`.
// Each tree is renamed into `tmp` at once and left in `graves`, to be deleted from the disk
// after the caller has released its lock.
void RemoveUnkept(const fs::path& root, const fs::path& tmp, std::map<std::string, PackageInfo>& known,
                  const std::function<bool(const std::string&)>& keep, std::vector<Scratch>& graves) {
  std::vector<std::string> trees;
  std::vector<std::string> zips;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (IsKey(name)) {
      if (!keep(name)) trees.push_back(std::move(name));
    } else if (name.ends_with(kZipSuffix)) {
      std::string hex = name.substr(0, name.size() - kZipSuffix.size());
      if (IsKey(hex) && !keep(hex)) zips.push_back(std::move(hex));
    }
  }
  if (ec) spdlog::warn("readdir({}): {}", root.string(), ec.message());

  // Trees before zips, because a visible tree always has its zip. Each tree is renamed into
  // .tmp, so that it vanishes at once and a crash midway leaves nothing half deleted.
  std::set<std::string> kept_trees;
  for (const std::string& hex : trees) {
    known.erase(hex);
    const fs::path tree = root / hex;
    // Moving a directory to another parent rewrites its "..", which needs write permission
    // on it when the daemon is not root.
    MakeOwnerWritable(tree);
    Result<Scratch> grave = MakeScratchDir(tmp, "gc-");
    // rename() replaces the empty directory mkdtemp() made.
    if (grave && ::rename(tree.c_str(), grave->path().c_str()) == 0) {
      graves.push_back(std::move(*grave));
    } else {
      spdlog::warn("cannot remove code package {}: {}", hex,
                   grave ? std::strerror(errno) : grave.error().message());
      kept_trees.insert(hex);
    }
  }
  for (const std::string& hex : zips) {
    if (kept_trees.contains(hex)) continue;
    known.erase(hex);
    const fs::path zip = root / (hex + std::string(kZipSuffix));
    if (::unlink(zip.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("unlink({}): {}", zip.string(), std::strerror(errno));
    }
  }
}

}  // namespace

void PackageStore::RemoveAllExcept(const std::set<std::string>& keep) {
  // Declared before the lock, so that the slow deletions run after it is released.
  std::vector<Scratch> graves;
  std::lock_guard lock(mutex_);
  RemoveUnkept(root_, tmp_, known_, [&](const std::string& hex) { return keep.contains(hex); }, graves);
}

void PackageStore::EnableCollection(Referenced referenced, Background background) {
  std::lock_guard lock(mutex_);
  referenced_ = std::move(referenced);
  background_ = std::move(background);
}

void PackageStore::Collect() {
  std::vector<Scratch> graves;
  std::lock_guard lock(mutex_);
  if (!referenced_) return;
  // Asked under the lock: a function stored after this cannot refer to a package deleted
  // here, because the Put that gave it its package held the package until it was stored,
  // and that hold is seen below.
  const std::set<std::string> keep = referenced_();
  deferred_.clear();
  RemoveUnkept(root_, tmp_, known_,
               [&](const std::string& hex) {
                 if (keep.contains(hex)) return true;
                 if (!holders_.contains(hex)) return false;
                 deferred_.insert(hex);
                 return true;
               },
               graves);
}

PackageInfo PackageStore::InUseLocked(PackageInfo info) {
  ++holders_[info.sha256_hex];
  // The pointer is only a token; the deleter is what counts.
  info.in_use = std::shared_ptr<const void>(this, [this, hex = info.sha256_hex](const void*) { Release(hex); });
  return info;
}

void PackageStore::Release(const std::string& hex) {
  {
    std::lock_guard lock(mutex_);
    auto it = holders_.find(hex);
    if (it == holders_.end() || --it->second > 0) return;
    holders_.erase(it);
    if (!deferred_.erase(hex) || !background_) return;
  }
  // The last holder of a package nothing referred to at the last collection: collect again,
  // which also checks whether something refers to it by now.
  background_([this] { Collect(); });
}

PackageInfo PackageStore::InfoFor(const std::string& hex, int64_t zip_size,
                                  int64_t unzipped_size) const {
  return PackageInfo{
      .sha256_hex = hex,
      .sha256_base64 = Base64Encode(HexDecode(hex)),
      .zip_size = zip_size,
      .unzipped_size = unzipped_size,
      .dir = root_ / hex,
      .zip = root_ / (hex + std::string(kZipSuffix)),
  };
}

}  // namespace lambent::code
