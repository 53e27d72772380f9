#include "code/unzip.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace lambent::code {
namespace {

// A zip without entries: the 22-byte end of central directory record and no comment.
constexpr size_t kEmptyZipBytes = 22;
constexpr std::string_view kEndOfCentralDirectory = "PK\x05\x06";

// Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinkHops = 40;

struct ReadArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

using Components = std::vector<std::string>;

// Entry names are attacker-controlled bytes headed for a JSON error body: keep printable
// ASCII, escape the rest, and cut long names short.
std::string Printable(std::string_view name) {
  constexpr size_t kMaxShown = 200;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (name.size() > kMaxShown) out += "...";
  return out;
}

Error Unreadable(std::string_view detail) {
  return Error::Invalid(fmt::format("{} ({})", kCouldNotUnzip, detail));
}

Error BadEntry(std::string_view name, std::string_view problem) {
  return Error::Invalid(
      fmt::format("{} Entry \"{}\" {}.", kCouldNotUnzip, Printable(name), problem));
}

Error TooBig(int64_t max_unzipped_bytes) {
  return Error::Invalid(
      fmt::format("Unzipped size must be smaller than {} bytes", max_unzipped_bytes));
}

const char* ErrorString(archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

// libarchive failed to write an entry: the host's fault when the errno says so, otherwise
// the archive's (SECURE_* refusals, names the filesystem rejects).
Error WriteFailure(archive* out, std::string_view name, const std::string& full_path) {
  int e = archive_errno(out);
  switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EROFS:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return Error::System("extract", full_path, e);
    default:
      return BadEntry(name, fmt::format("cannot be extracted: {}", ErrorString(out)));
  }
}

// The '/'-separated parts of `path`, empty ones included.
Components Split(std::string_view path) {
  Components parts;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      parts.emplace_back(path.substr(start));
      return parts;
    }
    parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
}

// Appends the parts of the relative path `path` to `base`, resolving "." and ".."
// lexically; nullopt when ".." climbs above the start of `base`.
std::optional<Components> Resolve(Components base, std::string_view path) {
  for (std::string& part : Split(path)) {
    if (part == "..") {
      if (base.empty()) return std::nullopt;
      base.pop_back();
    } else if (!part.empty() && part != ".") {
      base.push_back(std::move(part));
    }
  }
  return base;
}

std::string Join(const Components& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

std::string Join(const Components& parts) { return Join(parts, parts.size()); }

// The raw bytes of a name. In the C locale libarchive passes bytes through as the "MBS"
// form and has no UTF-8 form; in a UTF-8 locale both are the same.
std::string NameOf(const char* mbs, const char* utf8) {
  if (mbs != nullptr) return mbs;
  if (utf8 != nullptr) return utf8;
  return "";
}

// libarchive reports an entry without unix mode bits (made on DOS or Windows, or with an
// empty mode) as a 0664 file or a 0775 directory, 0444 and 0555 if DOS marked it
// read-only; which host wrote the entry is not reported. Exactly those values get Lambda's
// defaults (and 0, which older libarchive versions passed through). A unix entry that
// happens to carry one only loses group write or gains owner write, which a read-only tree
// ignores.
mode_t Permissions(mode_t type, mode_t perm) {
  // Never setuid, setgid or sticky: the daemon extracts as root.
  perm &= 0777;
  if (type == AE_IFDIR && (perm == 0 || perm == 0775 || perm == 0555)) return 0755;
  if (type == AE_IFREG && (perm == 0 || perm == 0664 || perm == 0444)) return 0644;
  return perm;
}

Error Outside(const Components& link) {
  return BadEntry(Join(link), "is a symlink that resolves outside the package");
}

// Follows the extracted symlink `link` the way the kernel would, refusing to step above
// `root`. The lexical check on each target misses a ".." taken after another link, e.g.
// a -> "d/l/../.." with d/l -> ".", which lexically ends at the root but really climbs
// out of it.
Result<void> CheckResolvesInside(const std::string& root, const Components& link) {
  Components dir(link.begin(), link.end() - 1);
  std::deque<std::string> pending = {link.back()};
  int hops = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (dir.empty()) return tl::unexpected(Outside(link));
      dir.pop_back();
      continue;
    }
    std::string path = root + "/" + (dir.empty() ? part : Join(dir) + "/" + part);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      // A dangling link: the lookup ends here, inside, and the tree never changes.
      if (errno == ENOENT || errno == ENOTDIR) return Ok();
      return tl::unexpected(Error::System("lstat", path, errno));
    }
    if (S_ISLNK(st.st_mode)) {
      // The kernel gives up on a loop with ELOOP at this point, so it leads nowhere.
      if (++hops > kMaxSymlinkHops) return Ok();
      char target[PATH_MAX];
      ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
      if (n < 0) return tl::unexpected(Error::System("readlink", path, errno));
      std::string_view t(target, static_cast<size_t>(n));
      if (t.starts_with('/')) {
        return tl::unexpected(Outside(link));
      }
      // The target's parts replace the link's; a leading ".." must stay in the walk.
      Components parts = Split(t);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }
    // Looking up a name inside a file fails with ENOTDIR; a file at the end is the target.
    if (!S_ISDIR(st.st_mode)) return Ok();
    dir.push_back(std::move(part));
  }
  return Ok();
}

}  // namespace

Result<int64_t> ExtractZip(std::string_view zip_bytes, const std::filesystem::path& dest,
                           int64_t max_unzipped_bytes) {
  // Lambda's wording. A zip without entries is just its end-of-central-directory record,
  // which libarchive does not recognise as a zip at all.
  if (zip_bytes.empty() ||
      (zip_bytes.size() == kEmptyZipBytes && zip_bytes.starts_with(kEndOfCentralDirectory))) {
    return tl::unexpected(Error::Invalid("Uploaded file must be a non-empty zip"));
  }

  std::unique_ptr<archive, ReadArchiveFree> in(archive_read_new());
  if (!in) return tl::unexpected(Error::Internal("archive_read_new failed"));
  // Only the central directory reader: the whole zip is in memory, and the central directory
  // is what unzip(1) and Lambda trust. The streaming reader walks local headers instead, which
  // a crafted zip can make disagree with the central directory. A tar is not a package.
  archive_read_support_format_zip_seekable(in.get());
  if (archive_read_open_memory(in.get(), zip_bytes.data(), zip_bytes.size()) != ARCHIVE_OK) {
    return tl::unexpected(Unreadable(ErrorString(in.get())));
  }

  // archive_write_disk_new() calls umask() twice to learn the umask. The value is restored
  // at once, but a file another thread creates in between is not masked.
  std::unique_ptr<archive, WriteArchiveFree> out(archive_write_disk_new());
  if (!out) return tl::unexpected(Error::Internal("archive_write_disk_new failed"));
  // Our own checks below come first and give clear messages; these are the second line of
  // defence. NOABSOLUTEPATHS is left out on purpose: entries are written under absolute
  // paths in `dest`, because a relative path would be resolved against the process-wide
  // working directory. PERM makes the sanitized modes exact instead of umask-dependent;
  // owners, ACLs, xattrs and file flags are never restored.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);

  const std::string root = dest.string();
  int64_t written = 0;
  std::vector<Components> symlinks;
  std::set<std::string> explicit_dirs;
  std::set<std::string> implied_dirs;

  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_WARN is a name libarchive could not convert to the locale; it keeps the bytes.
    if (r < ARCHIVE_WARN) return tl::unexpected(Unreadable(ErrorString(in.get())));

    std::string name = NameOf(archive_entry_pathname(entry), archive_entry_pathname_utf8(entry));
    if (name.empty()) return tl::unexpected(BadEntry(name, "has an empty name"));
    if (name.starts_with('/')) return tl::unexpected(BadEntry(name, "has an absolute path"));
    std::optional<Components> parts = Resolve({}, name);
    if (!parts) {
      return tl::unexpected(BadEntry(name, "has a \"..\" path that leaves the package"));
    }

    // libarchive already turns a fifo into a regular file: Info-ZIP records the pipe it
    // read from instead of the file it made.
    const mode_t type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
      return tl::unexpected(BadEntry(name, "is not a regular file, directory or symlink"));
    }
    if (parts->empty()) {
      if (type == AE_IFDIR) continue;  // "./": the package root itself
      return tl::unexpected(BadEntry(name, "has no file name"));
    }
    const std::string rel = Join(*parts);
    const std::string full = root + "/" + rel;
    // Longer paths make libarchive chdir() through them, which would move every thread.
    if (full.size() >= PATH_MAX) return tl::unexpected(BadEntry(name, "has too long a path"));

    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      std::string target = link;
      if (target.starts_with('/')) {
        return tl::unexpected(BadEntry(name, "is a hard link to an absolute path"));
      }
      std::optional<Components> to = Resolve({}, target);
      if (!to || to->empty()) {
        return tl::unexpected(BadEntry(name, "is a hard link to outside the package"));
      }
      archive_entry_copy_hardlink(entry, (root + "/" + Join(*to)).c_str());
    }
    if (type == AE_IFLNK) {
      std::string target = NameOf(archive_entry_symlink(entry), archive_entry_symlink_utf8(entry));
      if (target.empty()) return tl::unexpected(BadEntry(name, "is a symlink without a target"));
      if (target.starts_with('/')) {
        return tl::unexpected(BadEntry(
            name, fmt::format("is a symlink to the absolute path \"{}\"", Printable(target))));
      }
      Components dir(parts->begin(), parts->end() - 1);
      if (!Resolve(std::move(dir), target)) {
        return tl::unexpected(BadEntry(
            name, fmt::format("is a symlink to \"{}\", outside the package", Printable(target))));
      }
      symlinks.push_back(*parts);
    }

    if (type == AE_IFDIR) explicit_dirs.insert(rel);
    for (size_t i = 1; i < parts->size(); ++i) implied_dirs.insert(Join(*parts, i));

    archive_entry_set_perm(entry, Permissions(type, archive_entry_perm(entry)));
    archive_entry_copy_pathname(entry, full.c_str());
    if (archive_write_header(out.get(), entry) < ARCHIVE_OK) {
      return tl::unexpected(WriteFailure(out.get(), name, full));
    }

    // Count what is actually inflated, not the sizes in the headers.
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      r = archive_read_data_block(in.get(), &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      // ARCHIVE_WARN here is a CRC mismatch or a short entry: corrupt either way.
      if (r != ARCHIVE_OK) {
        return tl::unexpected(BadEntry(name, fmt::format("is corrupt: {}", ErrorString(in.get()))));
      }
      written += static_cast<int64_t>(size);
      if (written > max_unzipped_bytes) return tl::unexpected(TooBig(max_unzipped_bytes));
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK) {
        return tl::unexpected(WriteFailure(out.get(), name, full));
      }
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_OK) {
      return tl::unexpected(WriteFailure(out.get(), name, full));
    }
  }
  // Applies the deferred modes and times of directories.
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return tl::unexpected(WriteFailure(out.get(), "(directory modes)", root));
  }

  // Directories the zip only implies were made with the umask's mode; give them the default.
  for (const std::string& dir : implied_dirs) {
    if (explicit_dirs.contains(dir)) continue;
    std::string path = root + "/" + dir;
    if (::chmod(path.c_str(), 0755) != 0) {
      return tl::unexpected(Error::System("chmod", path, errno));
    }
  }
  for (const Components& link : symlinks) {
    if (auto ok = CheckResolvesInside(root, link); !ok) return tl::unexpected(ok.error());
  }
  return written;
}

}  // namespace lambent::code
