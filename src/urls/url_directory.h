#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "urls/url_config.h"

namespace lambent::urls {

// Every function URL, in memory for the data path's lookups by id and in
// `<dir>/function_urls.db` for restarts (one synchronous transaction per change: they are
// rare). Thread-safe; the changes write SQLite, so they run on the control-plane workers.
class UrlDirectory {
 public:
  static Result<std::unique_ptr<UrlDirectory>> Open(const std::filesystem::path& dir);
  ~UrlDirectory();

  std::optional<UrlConfig> Find(const std::string& function, const std::string& qualifier) const;
  std::optional<UrlConfig> ById(const std::string& url_id) const;
  // A function's URLs (each qualifier's), by qualifier.
  std::vector<UrlConfig> List(const std::string& function) const;

  // kConflict when the function and qualifier have one already.
  Result<UrlConfig> Create(UrlConfig config);
  // Applies `change` to the existing config; kNotFound when there is none.
  Result<UrlConfig> Update(const std::string& function, const std::string& qualifier,
                           const std::function<Result<void>(UrlConfig&)>& change);
  Result<void> Delete(const std::string& function, const std::string& qualifier);
  // Every URL of a function (it was deleted).
  Result<void> DeleteFunction(const std::string& function);

 private:
  explicit UrlDirectory(sqlite3* db) : db_(db) {}
  Result<void> Write(const UrlConfig& config);
  Result<void> Erase(const std::string& function, const std::string& qualifier);

  mutable std::mutex mutex_;
  sqlite3* db_;
  std::map<std::pair<std::string, std::string>, UrlConfig> by_function_;  // GUARDED_BY(mutex_)
  std::map<std::string, std::pair<std::string, std::string>> by_id_;       // GUARDED_BY(mutex_)
};

}  // namespace lambent::urls
