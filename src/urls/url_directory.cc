#include "urls/url_directory.h"

#include <fmt/format.h>

#include "async/sqlite_statement.h"
#include "base/json.h"

namespace lambent::urls {

using async::SqliteError;
using async::Statement;

Result<std::unique_ptr<UrlDirectory>> UrlDirectory::Open(const std::filesystem::path& dir) {
  auto db = async::OpenDatabase(dir / "function_urls.db",
                                "PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=FULL;"
                                "CREATE TABLE IF NOT EXISTS urls (function TEXT NOT NULL, qualifier TEXT NOT NULL,"
                                " doc TEXT NOT NULL, PRIMARY KEY (function, qualifier));");
  if (!db) return tl::unexpected(db.error());
  std::unique_ptr<UrlDirectory> directory(new UrlDirectory(*db));
  Statement rows;
  if (auto ok = rows.Prepare(*db, "SELECT doc FROM urls"); !ok) return tl::unexpected(ok.error());
  while (sqlite3_step(rows.get()) == SQLITE_ROW) {
    auto doc = nlohmann::json::parse(rows.Text(0), nullptr, false);
    if (!doc.is_object()) continue;
    UrlConfig config = UrlConfig::FromStored(doc);
    directory->by_id_[config.url_id] = {config.function, config.qualifier};
    directory->by_function_[{config.function, config.qualifier}] = std::move(config);
  }
  return directory;
}

UrlDirectory::~UrlDirectory() { sqlite3_close(db_); }

std::optional<UrlConfig> UrlDirectory::Find(const std::string& function, const std::string& qualifier) const {
  std::lock_guard lock(mutex_);
  auto it = by_function_.find({function, qualifier});
  if (it == by_function_.end()) return std::nullopt;
  return it->second;
}

std::optional<UrlConfig> UrlDirectory::ById(const std::string& url_id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(url_id);
  if (it == by_id_.end()) return std::nullopt;
  return by_function_.at(it->second);
}

std::vector<UrlConfig> UrlDirectory::List(const std::string& function) const {
  std::lock_guard lock(mutex_);
  std::vector<UrlConfig> out;
  for (auto it = by_function_.lower_bound({function, ""}); it != by_function_.end() && it->first.first == function; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<void> UrlDirectory::Write(const UrlConfig& config) {
  Statement insert;
  if (auto ok = insert.Prepare(db_, "INSERT OR REPLACE INTO urls (function, qualifier, doc) VALUES (?1, ?2, ?3)"); !ok) {
    return ok;
  }
  std::string doc = DumpJson(config.ToStored());
  insert.BindText(1, config.function);
  insert.BindText(2, config.qualifier);
  insert.BindText(3, doc);
  return insert.Run(db_, "write a function URL");
}

Result<void> UrlDirectory::Erase(const std::string& function, const std::string& qualifier) {
  Statement erase;
  if (auto ok = erase.Prepare(db_, "DELETE FROM urls WHERE function = ?1 AND qualifier = ?2"); !ok) return ok;
  erase.BindText(1, function);
  erase.BindText(2, qualifier);
  return erase.Run(db_, "delete a function URL");
}

Result<UrlConfig> UrlDirectory::Create(UrlConfig config) {
  std::lock_guard lock(mutex_);
  if (by_function_.contains({config.function, config.qualifier})) {
    return tl::unexpected(Error::Conflict("FunctionUrlConfig exists for this Lambda function"));
  }
  while (by_id_.contains(config.url_id)) config.url_id = NewUrlId();
  if (auto ok = Write(config); !ok) return tl::unexpected(ok.error());
  by_id_[config.url_id] = {config.function, config.qualifier};
  by_function_[{config.function, config.qualifier}] = config;
  return config;
}

Result<UrlConfig> UrlDirectory::Update(const std::string& function, const std::string& qualifier,
                                       const std::function<Result<void>(UrlConfig&)>& change) {
  std::lock_guard lock(mutex_);
  auto it = by_function_.find({function, qualifier});
  if (it == by_function_.end()) return tl::unexpected(Error::NotFound("The resource you requested does not exist."));
  UrlConfig config = it->second;
  if (auto ok = change(config); !ok) return tl::unexpected(ok.error());
  if (auto ok = Write(config); !ok) return tl::unexpected(ok.error());
  it->second = config;
  return config;
}

Result<void> UrlDirectory::Delete(const std::string& function, const std::string& qualifier) {
  std::lock_guard lock(mutex_);
  auto it = by_function_.find({function, qualifier});
  if (it == by_function_.end()) return tl::unexpected(Error::NotFound("The resource you requested does not exist."));
  if (auto ok = Erase(function, qualifier); !ok) return ok;
  by_id_.erase(it->second.url_id);
  by_function_.erase(it);
  return Ok();
}

Result<void> UrlDirectory::DeleteFunction(const std::string& function) {
  std::lock_guard lock(mutex_);
  for (auto it = by_function_.lower_bound({function, ""}); it != by_function_.end() && it->first.first == function;) {
    if (auto ok = Erase(it->first.first, it->first.second); !ok) return ok;
    by_id_.erase(it->second.url_id);
    it = by_function_.erase(it);
  }
  return Ok();
}

}  // namespace lambent::urls
