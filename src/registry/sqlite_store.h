#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>

#include "base/error.h"
#include "registry/function_config.h"
#include "registry/store.h"

struct sqlite3;

namespace lambent::registry {

// Functions, versions, aliases and per-function settings in one SQLite file (WAL).
// Thread-safe: one mutex serialises use of the connection.
//
// Tables: function_versions(name, version, config), aliases(function, name, config) and
// function_settings(name, config), each config a storage JSON document. A database written
// before aliases and settings existed (only function_versions, the tags inside the $LATEST
// row) still loads: LoadAll derives the missing settings from the versions present.
class SqliteStore : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path);
  ~SqliteStore() override;

  // One IMMEDIATE transaction: every change or, on any error (SQLITE_FULL on a full disk,
  // say), none.
  Result<void> Apply(const StoreChanges& changes) override;
  Result<StoredState> LoadAll() override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Result<void> Exec(const char* sql);
  Result<void> ApplyLocked(const StoreChanges& changes);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::registry
