#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"
#include "registry/store.h"

struct sqlite3;

namespace lambent::registry {

// Function configurations in one SQLite file (WAL). Thread-safe: one mutex serialises use of
// the connection.
class SqliteStore : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path);
  ~SqliteStore() override;

  Result<void> Put(const FunctionConfig& config) override;
  // One DELETE statement: SQLite applies it whole or not at all (SQLITE_FULL on a full disk).
  Result<void> DeleteFunction(const std::string& name) override;
  Result<std::vector<FunctionConfig>> LoadAll() override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Result<void> Exec(const char* sql);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::registry
