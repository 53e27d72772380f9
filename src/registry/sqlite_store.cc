#include "registry/sqlite_store.h"
#include "base/json.h"

#include <sqlite3.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lambent::registry {
namespace {

Error SqliteError(sqlite3* db, std::string_view what) {
  return Error(ErrorCode::kSystem, fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db)));
}

// Finalizes a prepared statement on scope exit.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error(ErrorCode::kSystem,
                fmt::format("sqlite open({}): {}", path.string(), db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL keeps readers and the writer apart; NORMAL sync is durable across a process crash,
  // which is the failure a daemon restart recovers from.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS function_versions ("
                          " name TEXT NOT NULL, version TEXT NOT NULL, config TEXT NOT NULL,"
                          " PRIMARY KEY (name, version))"}) {
    if (auto ok = store->Exec(sql); !ok) return tl::unexpected(ok.error());
  }
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Result<void> SqliteStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Error error(ErrorCode::kSystem, fmt::format("sqlite exec '{}': {}", sql, message ? message : "?"));
    sqlite3_free(message);
    return tl::unexpected(error);
  }
  return Ok();
}

Result<void> SqliteStore::Put(const FunctionConfig& config) {
  std::lock_guard lock(mutex_);
  Statement s;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO function_versions (name, version, config) "
                         "VALUES (?, ?, ?)",
                         -1, &s.stmt, nullptr) != SQLITE_OK) {
    return tl::unexpected(SqliteError(db_, "prepare put"));
  }
  std::string text = DumpJson(ToStorageJson(config));
  sqlite3_bind_text(s.stmt, 1, config.name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 2, config.version.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 3, text.c_str(), int(text.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(s.stmt) != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "put"));
  return Ok();
}

Result<void> SqliteStore::DeleteFunction(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement s;
  if (sqlite3_prepare_v2(db_, "DELETE FROM function_versions WHERE name = ?", -1, &s.stmt,
                         nullptr) != SQLITE_OK) {
    return tl::unexpected(SqliteError(db_, "prepare delete"));
  }
  sqlite3_bind_text(s.stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.stmt) != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "delete"));
  return Ok();
}

Result<std::vector<FunctionConfig>> SqliteStore::LoadAll() {
  std::lock_guard lock(mutex_);
  Statement s;
  if (sqlite3_prepare_v2(db_, "SELECT config FROM function_versions ORDER BY name, version", -1,
                         &s.stmt, nullptr) != SQLITE_OK) {
    return tl::unexpected(SqliteError(db_, "prepare load"));
  }
  std::vector<FunctionConfig> out;
  int rc;
  while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
    auto json = nlohmann::json::parse(text ? text : "", nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return tl::unexpected(Error::Internal("corrupt function row in store"));
    auto config = FromStorageJson(json);
    if (!config) return tl::unexpected(config.error());
    out.push_back(std::move(*config));
  }
  if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "load"));
  return out;
}

}  // namespace lambent::registry
