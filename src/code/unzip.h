#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "base/error.h"

namespace lambent::code {

// Lambda's wording for an upload it cannot use; every rejection of a package's contents
// starts with it, except an empty zip and the size limit, which have Lambda's own messages.
inline constexpr std::string_view kCouldNotUnzip =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

// Extracts the untrusted zip archive `zip_bytes` into `dest` and returns the number of file
// bytes written. `dest` must be an existing, empty directory, private to the caller, whose
// path contains no symlinks (the extractor refuses to write through one).
//
// Each entry is checked before anything is written for it; Error::Invalid names the entry
// and the problem: empty input or a zip without entries, not a zip, corrupt or truncated
// data, an absolute path, a path or hard link leaving `dest`, a symlink whose target is
// absolute or resolves outside `dest` (also through other symlinks), a device or socket (a
// fifo becomes a regular file), or more than `max_unzipped_bytes` of file data (counted as
// written, whatever the headers claim). A full disk or another failure of the host is
// Error::System. On any error `dest` may hold part of the archive; the caller removes it.
//
// Modes come from the zip without setuid, setgid and sticky bits; entries that carry no
// unix mode (zips made on Windows) get 0644 for files and 0755 for directories.
//
// Thread-safe; touches no process-wide state except for libarchive's momentary umask()
// query when it starts writing (see the comment in unzip.cc).
Result<int64_t> ExtractZip(std::string_view zip_bytes, const std::filesystem::path& dest,
                           int64_t max_unzipped_bytes);

}  // namespace lambent::code
