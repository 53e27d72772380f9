#include "code/zip_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "base/fd.h"

namespace lambent::code {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

struct WriteArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t AppendToString(archive*, void* client_data, const void* buffer, size_t length) {
  static_cast<std::string*>(client_data)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

Error ArchiveFailure(archive* a, const std::string& path) {
  const char* s = archive_error_string(a);
  return Error::Internal(
      fmt::format("zip {}: {}", path, s != nullptr ? s : "unknown libarchive error"));
}

// Streams the regular file `path`, which lstat() found to be `size` bytes, into the entry
// whose header was just written.
Result<void> CopyFileData(archive* out, const std::string& path, int64_t size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return tl::unexpected(Error::System("open", path, errno));
  std::string buf(kChunkBytes, '\0');
  int64_t copied = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(Error::System("read", path, errno));
    }
    if (n == 0) break;
    copied += n;
    // The header already promised `size` bytes.
    if (copied > size) break;
    if (archive_write_data(out, buf.data(), static_cast<size_t>(n)) != n) {
      return tl::unexpected(ArchiveFailure(out, path));
    }
  }
  if (copied != size) {
    return tl::unexpected(Error::Conflict(fmt::format("{} changed while it was zipped", path)));
  }
  return Ok();
}

}  // namespace

Result<std::string> ZipDirectory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  // Does not follow symlinks to directories: they are stored as symlinks.
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) return tl::unexpected(Error::System("opendir", dir.string(), ec.value()));
  while (it != fs::recursive_directory_iterator()) {
    names.push_back(it->path().lexically_relative(dir).generic_string());
    it.increment(ec);
    if (ec) return tl::unexpected(Error::System("readdir", dir.string(), ec.value()));
  }
  std::sort(names.begin(), names.end());

  std::string zip;
  std::unique_ptr<archive, WriteArchiveFree> out(archive_write_new());
  if (!out) return tl::unexpected(Error::Internal("archive_write_new failed"));
  if (archive_write_set_format_zip(out.get()) != ARCHIVE_OK ||
      // No padding after the end of central directory record.
      archive_write_set_bytes_in_last_block(out.get(), 1) != ARCHIVE_OK ||
      archive_write_open(out.get(), &zip, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return tl::unexpected(ArchiveFailure(out.get(), dir.string()));
  }

  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  for (const std::string& name : names) {
    const std::string path = (dir / name).string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return tl::unexpected(Error::System("lstat", path, errno));

    archive_entry_clear(entry.get());
    archive_entry_copy_pathname(entry.get(), name.c_str());
    archive_entry_set_perm(entry.get(), st.st_mode & 07777);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, 0);
    // Owners mean nothing inside a sandbox; leaving them at 0 keeps the bytes reproducible.
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    if (S_ISREG(st.st_mode)) {
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(), st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
      if (n < 0) return tl::unexpected(Error::System("readlink", path, errno));
      target[n] = '\0';
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_copy_symlink(entry.get(), target);
    } else {
      return tl::unexpected(
          Error::Invalid(fmt::format("{} is not a regular file, directory or symlink", path)));
    }

    // ARCHIVE_WARN: a name that is not valid in the locale; the zip keeps its bytes.
    if (archive_write_header(out.get(), entry.get()) < ARCHIVE_WARN) {
      return tl::unexpected(ArchiveFailure(out.get(), path));
    }
    if (S_ISREG(st.st_mode)) {
      if (auto copied = CopyFileData(out.get(), path, st.st_size); !copied) {
        return tl::unexpected(copied.error());
      }
    }
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return tl::unexpected(ArchiveFailure(out.get(), dir.string()));
  }
  return zip;
}

}  // namespace lambent::code
