#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "base/error.h"

namespace lambent::async {

inline Error SqliteError(sqlite3* db, std::string_view what) {
  return Error(ErrorCode::kSystem, fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db)));
}

// Opens (creating it and its directory when missing) the SQLite file at `path` for one
// thread at a time, then runs `setup` (pragmas, CREATE TABLE IF NOT EXISTS...). The caller
// owns the connection and closes it.
inline Result<sqlite3*> OpenDatabase(const std::filesystem::path& path, const char* setup) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error error(ErrorCode::kSystem,
                fmt::format("sqlite open({}): {}", path.string(), db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, setup, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error error = SqliteError(db, fmt::format("set up {}", path.string()));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  return db;
}

// A prepared statement, finalized on destruction; reusable through Reset. Move-only.
// Not thread-safe (nor is the connection it belongs to).
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Result<void> Prepare(sqlite3* db, const char* sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      return tl::unexpected(SqliteError(db, fmt::format("prepare '{}'", sql)));
    }
    return Ok();
  }
  // SQLITE_STATIC: every caller steps the statement before the bound bytes go away.
  void BindText(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_STATIC);
  }
  void BindBlob(int index, std::string_view bytes) {
    // A zero-length blob must not be bound as NULL: the column is NOT NULL.
    sqlite3_bind_blob(stmt_, index, bytes.empty() ? "" : bytes.data(), int(bytes.size()),
                      SQLITE_STATIC);
  }
  void BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  // Steps a statement that returns no rows, then readies it for the next use.
  Result<void> Run(sqlite3* db, std::string_view what) {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db, what));
    return Ok();
  }
  std::string_view Text(int column) const {
    auto data = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return data ? std::string_view(data, size_t(sqlite3_column_bytes(stmt_, column)))
                : std::string_view();
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace lambent::async
