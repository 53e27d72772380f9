#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "esm/mapping.h"

struct sqlite3;

namespace lambent::esm {

// Event source mappings in a SQLite file of their own (WAL), one row per mapping:
// event_source_mappings(uuid PRIMARY KEY, config), config a Mapping::ToStorage document.
// Every call blocks on the disk: keep it off the io thread. Thread-safe (one mutex).
class MappingStore {
 public:
  // Creates the file and its table when missing. kSystem when SQLite cannot.
  static Result<std::unique_ptr<MappingStore>> Open(const std::filesystem::path& path);
  MappingStore(const MappingStore&) = delete;
  MappingStore& operator=(const MappingStore&) = delete;
  ~MappingStore();

  // Every stored mapping, by UUID; kInternal for a row this code did not write.
  Result<std::vector<Mapping>> LoadAll();
  // Inserts or replaces the mapping's row.
  Result<void> Put(const Mapping& mapping);
  // Removes the row; a no-op when there is none.
  Result<void> Remove(const std::string& uuid);

 private:
  explicit MappingStore(sqlite3* db) : db_(db) {}

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::esm
