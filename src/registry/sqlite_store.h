#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"

struct sqlite3;

namespace lambent::registry {

// Function configurations in one SQLite file (WAL). Thread-safe: one mutex serialises use of
// the connection.
class SqliteStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path);
  ~SqliteStore();

  // Inserts or replaces the row for (name, version).
  Result<void> Put(const FunctionConfig& config);
  // Deletes every version of a function.
  Result<void> DeleteFunction(const std::string& name);
  Result<std::vector<FunctionConfig>> LoadAll();

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Result<void> Exec(const char* sql);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::registry
