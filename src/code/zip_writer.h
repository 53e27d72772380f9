#pragma once

#include <filesystem>
#include <string>

#include "base/error.h"

namespace lambent::code {

// Zips the contents of `dir` for upload as a function's code (the CLI's `deploy`). Entries
// are named relative to `dir`, directories included, in sorted order so that the same tree
// gives the same bytes. Unix mode bits (the executable bit in particular) and mtimes are
// kept; symlinks are stored as symlinks, never followed. A device, fifo or socket in the
// tree is Error::Invalid; an unreadable file or directory is Error::System. Returns the zip
// bytes. Thread-safe; reads `dir` while it runs, so the tree should not change meanwhile.
Result<std::string> ZipDirectory(const std::filesystem::path& dir);

}  // namespace lambent::code
