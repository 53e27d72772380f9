#include "sandbox/tmp_pool.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace lambent::sandbox {

namespace fs = std::filesystem;

namespace {

constexpr int kLoopAttempts = 8;
constexpr auto kQuietAfterTake = std::chrono::milliseconds(30);

std::string FindMkfs() {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string path = std::string(dir) + "/mkfs.ext4";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// Runs mkfs.ext4 on `path`: no journal (/tmp needs no crash consistency, and a journal costs
// its size), no room to grow, no blocks reserved for root (the function is root), metadata
// written lazily, and the same block size and inode density at every size.
Result<void> Mkfs(const std::string& path) {
  std::string mkfs = FindMkfs();
  if (mkfs.empty()) return tl::unexpected(Error(ErrorCode::kSystem, "mkfs.ext4 not found (e2fsprogs)"));
  std::vector<std::string> args{mkfs, "-q", "-F", "-t", "ext4", "-b", "4096", "-i", "16384",
                                "-O", "^has_journal,^resize_inode", "-m", "0",
                                "-E", "lazy_itable_init=1,nodiscard", path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int e = posix_spawn(&pid, mkfs.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (e != 0) return tl::unexpected(Error::System("posix_spawn", mkfs, e));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return tl::unexpected(Error(ErrorCode::kSystem, fmt::format("{} {}: exit status {}", mkfs, path, status)));
  }
  return Ok();
}

// An unlinked file in `dir`: O_TMPFILE where the file system has it.
Result<Fd> UnlinkedFile(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  std::string name = (dir / "image-XXXXXX").string();
  fd.reset(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("mkostemp", name, errno));
  ::unlink(name.c_str());
  return fd;
}

// Copies the written parts of `from` into `to` (same size, sparse): a formatted file system
// with lazily initialised tables is mostly holes.
Result<void> CopySparse(int from, int to, off_t size) {
  if (::ftruncate(to, size) != 0) return tl::unexpected(Error::System("ftruncate", "tmp image", errno));
  off_t data = 0;
  while ((data = ::lseek(from, data, SEEK_DATA)) >= 0 && data < size) {
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    off_t in = data, out = data;
    while (in < hole) {
      ssize_t n = ::copy_file_range(from, &in, to, &out, size_t(hole - in), 0);
      if (n <= 0) return tl::unexpected(Error::System("copy_file_range", "tmp image", n < 0 ? errno : EIO));
    }
    data = hole;
  }
  if (data < 0 && errno != ENXIO) return tl::unexpected(Error::System("lseek", "tmp template", errno));
  return Ok();
}

// A free loop device over `file`, clearing itself when its last user closes it.
Result<std::pair<Fd, std::string>> AttachLoop(int file) {
  Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control) return tl::unexpected(Error::System("open", "/dev/loop-control", errno));
  int last_errno = 0;
  for (int attempt = 0; attempt < kLoopAttempts; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return tl::unexpected(Error::System("ioctl LOOP_CTL_GET_FREE", "/dev/loop-control", errno));
    std::string path = fmt::format("/dev/loop{}", n);
    Fd loop(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return tl::unexpected(Error::System("open", path, errno));
    struct loop_config config {};
    config.fd = uint32_t(file);
    // Direct I/O: the image's blocks are cached once, by the file system on it, not a second
    // time as the backing file's pages.
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return std::pair{std::move(loop), path};
    last_errno = errno;
    if (errno == EINVAL) {
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return std::pair{std::move(loop), path};
      last_errno = errno;
    }
    // Taken by someone else between GET_FREE and CONFIGURE: ask again.
    if (last_errno != EBUSY) break;
  }
  return tl::unexpected(Error::System("ioctl LOOP_CONFIGURE", "loop device", last_errno));
}

// ext4 on `device` as a detached mount.
Result<Fd> MountDetached(const std::string& device) {
  Fd context(::fsopen("ext4", FSOPEN_CLOEXEC));
  if (!context) return tl::unexpected(Error::System("fsopen", "ext4", errno));
  if (::fsconfig(context.get(), FSCONFIG_SET_STRING, "source", device.c_str(), 0) != 0 ||
      ::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return tl::unexpected(Error::System("fsconfig", device, errno));
  }
  Fd mount(::fsmount(context.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mount) return tl::unexpected(Error::System("fsmount", device, errno));
  return mount;
}

}  // namespace

std::string TmpImageSupport() {
  if (::geteuid() != 0) return "needs root (loop devices and mounting)";
  if (::access("/dev/loop-control", R_OK | W_OK) != 0) return "no /dev/loop-control";
  if (FindMkfs().empty()) return "mkfs.ext4 not found (install e2fsprogs)";
  return "";
}

int64_t TmpImageBytes(int size_mb) {
  // ext4's inode tables take 1/64 of the device (one 256-byte inode per 16 KiB); bitmaps,
  // descriptors and superblock copies fit in the extra MiB. df then shows the size asked for,
  // give or take a MiB (MakeTmpImage gives up ext4's own reserve).
  int64_t bytes = (int64_t(size_mb) << 20) * 64 / 63 + (1 << 20);
  return (bytes + 4095) / 4096 * 4096;
}

Result<Fd> FormatTmpTemplate(const fs::path& dir, int size_mb) {
  std::string name = (dir / "template-XXXXXX").string();
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return tl::unexpected(Error::System("mkostemp", name, errno));
  if (::ftruncate(fd.get(), TmpImageBytes(size_mb)) != 0) {
    int e = errno;
    ::unlink(name.c_str());
    return tl::unexpected(Error::System("ftruncate", name, e));
  }
  auto formatted = Mkfs(name);
  ::unlink(name.c_str());
  if (!formatted) return tl::unexpected(formatted.error());
  return fd;
}

Result<Fd> MakeTmpImage(const fs::path& dir, int template_fd) {
  struct stat st;
  if (::fstat(template_fd, &st) != 0) return tl::unexpected(Error::System("fstat", "tmp template", errno));
  auto file = UnlinkedFile(dir);
  if (!file) return tl::unexpected(file.error());
  if (auto ok = CopySparse(template_fd, file->get(), st.st_size); !ok) return tl::unexpected(ok.error());
  auto loop = AttachLoop(file->get());
  if (!loop) return tl::unexpected(loop.error());
  // From here the loop device holds the file, and the mount (once made) the loop device.
  auto mount = MountDetached(loop->second);
  if (!mount) return tl::unexpected(mount.error());
  Fd root(::openat(mount->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return tl::unexpected(Error::System("open", "tmp image root", errno));
  // Lambda's /tmp starts empty; nobody runs fsck on it.
  if (::unlinkat(root.get(), "lost+found", AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return tl::unexpected(Error::System("rmdir", "lost+found", errno));
  }
  if (::fchmod(root.get(), 01777) != 0) return tl::unexpected(Error::System("chmod", "tmp image root", errno));
  // ext4 holds back 2% (at most 16 MiB) for its delayed allocation's worst cases; a /tmp of
  // EphemeralStorage MiB is what the function gets instead, and write() still says ENOSPC.
  std::string reserve = "/sys/fs/ext4/" + fs::path(loop->second).filename().string() + "/reserved_clusters";
  Fd reserve_fd(::open(reserve.c_str(), O_WRONLY | O_CLOEXEC));
  if (!reserve_fd || ::write(reserve_fd.get(), "0", 1) != 1) {
    return tl::unexpected(Error::System("write", reserve, errno));
  }
  return std::move(*mount);
}

TmpImage& TmpImage::operator=(TmpImage&& other) noexcept {
  if (this != &other) {
    if (fd_ && pool_) pool_->Discard(std::move(fd_));
    pool_ = other.pool_;
    fd_ = std::move(other.fd_);
  }
  return *this;
}

TmpImage::~TmpImage() {
  if (fd_ && pool_) pool_->Discard(std::move(fd_));
}

TmpPool::TmpPool(TmpPoolOptions options, Maker make) : options_(std::move(options)), make_(std::move(make)) {
  if (!make_) make_ = [this](int size_mb) { return MakeDefault(size_mb); };
  {
    std::lock_guard lock(mutex_);
    for (int size : options_.initial_sizes) Demand(size);
  }
  thread_ = std::thread([this] { Run(); });
}

TmpPool::~TmpPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

TmpPool::Size& TmpPool::Demand(int size_mb) {
  auto [it, added] = sizes_.try_emplace(size_mb);
  if (added) it->second.target = options_.per_size;
  it->second.last_demand = std::chrono::steady_clock::now();
  return it->second;
}

Fd TmpPool::Take(int size_mb, uid_t uid, gid_t gid) {
  Fd image;
  {
    std::lock_guard lock(mutex_);
    if (sizes_.size() >= options_.max_sizes && !sizes_.count(size_mb)) {
      auto oldest = std::min_element(sizes_.begin(), sizes_.end(), [](const auto& a, const auto& b) {
        return a.second.last_demand < b.second.last_demand;
      });
      for (auto& fd : oldest->second.ready) discarded_.push_back(std::move(fd));
      sizes_.erase(oldest);
    }
    Size& size = Demand(size_mb);
    if (size.ready.empty()) {
      // Said at the 1st, 2nd, 4th, 8th... miss: the log shows how often without flooding.
      int64_t missed = ++stats_.missed;
      if ((missed & (missed - 1)) == 0) {
        spdlog::warn("no {} MiB /tmp image was ready: an environment got a tmpfs /tmp ({} so far)", size_mb,
                     missed);
      }
      // A burst took them all: keep more of this size from now on.
      size.target = std::min(size.target + 1, std::max(options_.max_per_size, options_.per_size));
    } else {
      image = std::move(size.ready.front());
      size.ready.pop_front();
      ++stats_.taken;
    }
    quiet_until_ = std::chrono::steady_clock::now() + kQuietAfterTake;
  }
  wake_.notify_one();
  // The environment's root owns its /tmp, as root of a fresh tmpfs would.
  if (image && ::fchownat(image.get(), "", uid, gid, AT_EMPTY_PATH) != 0) {
    spdlog::warn("chown of a /tmp image to {}: {}", uid, std::strerror(errno));
    Discard(std::move(image));
    return Fd();
  }
  return image;
}

void TmpPool::Discard(Fd image) {
  if (!image) return;
  {
    std::lock_guard lock(mutex_);
    discarded_.push_back(std::move(image));
  }
  wake_.notify_one();
}

TmpPool::Stats TmpPool::stats() const {
  std::lock_guard lock(mutex_);
  Stats copy = stats_;
  copy.ready = 0;
  for (const auto& [_, size] : sizes_) copy.ready += int(size.ready.size());
  return copy;
}

bool TmpPool::WaitReady(int size_mb, int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return made_one_.wait_for(lock, timeout, [&] {
    auto it = sizes_.find(size_mb);
    return it != sizes_.end() && int(it->second.ready.size()) >= count;
  });
}

Result<Fd> TmpPool::MakeDefault(int size_mb) {
  auto& tmpl = templates_[size_mb];
  if (!tmpl) {
    auto formatted = FormatTmpTemplate(options_.dir, size_mb);
    if (!formatted) return tl::unexpected(formatted.error());
    tmpl = std::move(*formatted);
  }
  return MakeTmpImage(options_.dir, tmpl.get());
}

void TmpPool::Run() {
  // Below the io thread and the environments it starts (mkfs.ext4 inherits it).
  ::setpriority(PRIO_PROCESS, pid_t(::gettid()), 10);
  int failures = 0;
  auto retry_at = std::chrono::steady_clock::time_point();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Closing happens unlocked: each may unmount a file system.
    if (!discarded_.empty()) {
      auto closing = std::move(discarded_);
      discarded_.clear();
      lock.unlock();
      closing.clear();
      lock.lock();
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    for (auto it = sizes_.begin(); it != sizes_.end();) {
      if (it->second.last_demand + options_.size_ttl < now) {
        for (auto& fd : it->second.ready) discarded_.push_back(std::move(fd));
        it = sizes_.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(templates_, [&](const auto& t) { return !sizes_.count(t.first); });
    int wanted = 0;
    for (const auto& [size_mb, size] : sizes_) {
      if (int(size.ready.size()) < size.target) {
        wanted = size_mb;
        break;
      }
    }
    if (!discarded_.empty()) continue;
    if (wanted == 0 || now < retry_at || now < quiet_until_) {
      wake_.wait_until(lock, wanted == 0 ? now + std::chrono::seconds(1) : std::max(retry_at, quiet_until_));
      continue;
    }
    lock.unlock();
    auto image = make_(wanted);
    lock.lock();
    if (!image) {
      ++stats_.failed;
      if (failures++ == 0) {
        spdlog::warn("/tmp images cannot be made ({}); environments get a tmpfs /tmp until they can",
                     image.error().message());
      }
      stats_.error = image.error().message();
      retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(1 << std::min(failures, 6));
      continue;
    }
    if (failures > 0) spdlog::info("/tmp images can be made again");
    failures = 0;
    ++stats_.made;
    auto it = sizes_.find(wanted);
    if (it == sizes_.end()) {
      discarded_.push_back(std::move(*image));
    } else {
      it->second.ready.push_back(std::move(*image));
    }
    made_one_.notify_all();
  }
  discarded_.clear();
  sizes_.clear();
}

}  // namespace lambent::sandbox
