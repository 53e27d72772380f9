#include "esm/mapping_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "async/sqlite_statement.h"

namespace lambent::esm {

namespace {

using async::SqliteError;
using async::Statement;

Result<void> Run(sqlite3* db, const char* sql, std::initializer_list<std::string_view> params,
                 std::string_view what) {
  Statement s;
  if (auto ok = s.Prepare(db, sql); !ok) return ok;
  int index = 1;
  for (std::string_view param : params) s.BindText(index++, param);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return tl::unexpected(SqliteError(db, what));
  return Ok();
}

}  // namespace

Result<std::unique_ptr<MappingStore>> MappingStore::Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error(ErrorCode::kSystem, fmt::format("sqlite open({}): {}", path.string(),
                                                db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  std::unique_ptr<MappingStore> store(new MappingStore(db));
  sqlite3_busy_timeout(db, 5000);
  // NORMAL sync in WAL mode survives a process crash, as the function registry does.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS event_source_mappings ("
                          " uuid TEXT NOT NULL PRIMARY KEY, config TEXT NOT NULL)"}) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      Error error(ErrorCode::kSystem,
                  fmt::format("sqlite {} ({}): {}", sql, path.string(), message ? message : "?"));
      sqlite3_free(message);
      return tl::unexpected(error);
    }
  }
  return store;
}

MappingStore::~MappingStore() { sqlite3_close(db_); }

Result<std::vector<Mapping>> MappingStore::LoadAll() {
  std::lock_guard lock(mutex_);
  Statement s;
  if (auto ok = s.Prepare(db_, "SELECT config FROM event_source_mappings ORDER BY uuid"); !ok) {
    return tl::unexpected(ok.error());
  }
  std::vector<Mapping> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    auto mapping = Mapping::FromStorage(text ? text : "");
    if (!mapping) return tl::unexpected(mapping.error());
    out.push_back(std::move(*mapping));
  }
  if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "load event source mappings"));
  return out;
}

Result<void> MappingStore::Put(const Mapping& mapping) {
  std::lock_guard lock(mutex_);
  return Run(db_, "INSERT OR REPLACE INTO event_source_mappings (uuid, config) VALUES (?, ?)",
             {mapping.uuid, mapping.ToStorage()}, "store an event source mapping");
}

Result<void> MappingStore::Remove(const std::string& uuid) {
  std::lock_guard lock(mutex_);
  return Run(db_, "DELETE FROM event_source_mappings WHERE uuid = ?", {uuid},
             "delete an event source mapping");
}

}  // namespace lambent::esm
