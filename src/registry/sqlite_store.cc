#include "registry/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/json.h"

namespace lambent::registry {
namespace {

Error SqliteError(sqlite3* db, std::string_view what) {
  return Error(ErrorCode::kSystem, fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db)));
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Result<void> Prepare(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      return tl::unexpected(SqliteError(db, fmt::format("prepare '{}'", sql)));
    }
    return Ok();
  }
  void Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_TRANSIENT);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs a statement that returns no rows with its text parameters bound in order.
Result<void> Run(sqlite3* db, const char* sql, std::initializer_list<std::string_view> params,
                 std::string_view what) {
  Statement s;
  if (auto ok = s.Prepare(db, sql); !ok) return ok;
  int index = 1;
  for (std::string_view param : params) s.Bind(index++, param);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return tl::unexpected(SqliteError(db, what));
  return Ok();
}

Result<nlohmann::json> ParseRow(sqlite3_stmt* stmt, int column, std::string_view what) {
  auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  auto json = nlohmann::json::parse(text ? text : "", nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return tl::unexpected(Error::Internal(fmt::format("corrupt {} row in store", what)));
  }
  return json;
}

// Reads every row of `sql` (one column: a config document) through `read`.
template <typename Read>
Result<void> ForEachRow(sqlite3* db, const char* sql, std::string_view what, Read read) {
  Statement s;
  if (auto ok = s.Prepare(db, sql); !ok) return ok;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    auto json = ParseRow(s.get(), 0, what);
    if (!json) return tl::unexpected(json.error());
    if (auto ok = read(*json); !ok) return ok;
  }
  if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db, fmt::format("load {}", what)));
  return Ok();
}

// The number of a published version ("7"), or 0 for "$LATEST" and anything else.
int VersionNumber(const std::string& version) {
  int n = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), n);
  return ec == std::errc() && end == version.data() + version.size() && n > 0 ? n : 0;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error(ErrorCode::kSystem, fmt::format("sqlite open({}): {}", path.string(),
                                                db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return tl::unexpected(error);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL keeps readers and the writer apart; NORMAL sync is durable across a process crash,
  // which is the failure a daemon restart recovers from. IF NOT EXISTS: a database from
  // before aliases and settings gains their tables and keeps its rows.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS function_versions ("
                          " name TEXT NOT NULL, version TEXT NOT NULL, config TEXT NOT NULL,"
                          " PRIMARY KEY (name, version))",
                          "CREATE TABLE IF NOT EXISTS aliases ("
                          " function TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,"
                          " PRIMARY KEY (function, name))",
                          "CREATE TABLE IF NOT EXISTS function_settings ("
                          " name TEXT NOT NULL PRIMARY KEY, config TEXT NOT NULL)"}) {
    if (auto ok = store->Exec(sql); !ok) return tl::unexpected(ok.error());
  }
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Result<void> SqliteStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Error error(ErrorCode::kSystem,
                fmt::format("sqlite exec '{}': {}", sql, message ? message : "?"));
    sqlite3_free(message);
    return tl::unexpected(error);
  }
  return Ok();
}

Result<void> SqliteStore::Apply(const StoreChanges& changes) {
  std::lock_guard lock(mutex_);
  // IMMEDIATE takes the write lock up front, so a busy database fails here, before any
  // change, rather than halfway through.
  if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) return ok;
  auto applied = ApplyLocked(changes);
  if (applied) applied = Exec("COMMIT");
  if (!applied) {
    // After some errors (SQLITE_FULL among them) SQLite has already rolled back; the
    // ROLLBACK then fails harmlessly with "no transaction is active".
    if (sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK");
    return applied;
  }
  return Ok();
}

Result<void> SqliteStore::ApplyLocked(const StoreChanges& changes) {
  // Deletions first: a change that removes a function and writes it anew (none does today)
  // would otherwise lose the new rows.
  for (const std::string& name : changes.delete_functions) {
    for (const char* sql :
         {"DELETE FROM function_versions WHERE name = ?", "DELETE FROM aliases WHERE function = ?",
          "DELETE FROM function_settings WHERE name = ?"}) {
      if (auto ok = Run(db_, sql, {name}, "delete function"); !ok) return ok;
    }
  }
  for (const auto& [name, version] : changes.delete_versions) {
    if (auto ok = Run(db_, "DELETE FROM function_versions WHERE name = ? AND version = ?",
                      {name, version}, "delete version");
        !ok) {
      return ok;
    }
  }
  for (const auto& [function, alias] : changes.delete_aliases) {
    if (auto ok = Run(db_, "DELETE FROM aliases WHERE function = ? AND name = ?", {function, alias},
                      "delete alias");
        !ok) {
      return ok;
    }
  }
  for (const FunctionConfig& config : changes.put_versions) {
    std::string text = DumpJson(ToStorageJson(config));
    if (auto ok = Run(db_,
                      "INSERT OR REPLACE INTO function_versions (name, version, config) "
                      "VALUES (?, ?, ?)",
                      {config.name, config.version, text}, "put version");
        !ok) {
      return ok;
    }
  }
  for (const Alias& alias : changes.put_aliases) {
    std::string text = DumpJson(ToStorageJson(alias));
    if (auto ok =
            Run(db_, "INSERT OR REPLACE INTO aliases (function, name, config) VALUES (?, ?, ?)",
                {alias.function, alias.name, text}, "put alias");
        !ok) {
      return ok;
    }
  }
  for (const auto& [name, settings] : changes.put_settings) {
    std::string text = DumpJson(ToStorageJson(settings));
    if (auto ok = Run(db_, "INSERT OR REPLACE INTO function_settings (name, config) VALUES (?, ?)",
                      {name, text}, "put settings");
        !ok) {
      return ok;
    }
  }
  return Ok();
}

Result<StoredState> SqliteStore::LoadAll() {
  std::lock_guard lock(mutex_);
  StoredState state;
  // One read transaction, so the three tables are seen at one point in time.
  if (auto ok = Exec("BEGIN"); !ok) return tl::unexpected(ok.error());
  auto loaded = [&]() -> Result<void> {
    if (auto ok = ForEachRow(db_, "SELECT config FROM function_versions ORDER BY name, version",
                             "function",
                             [&](const nlohmann::json& json) -> Result<void> {
                               auto config = FromStorageJson(json);
                               if (!config) return tl::unexpected(config.error());
                               state.versions.push_back(std::move(*config));
                               return Ok();
                             });
        !ok) {
      return ok;
    }
    if (auto ok = ForEachRow(db_, "SELECT config FROM aliases ORDER BY function, name", "alias",
                             [&](const nlohmann::json& json) -> Result<void> {
                               auto alias = AliasFromStorageJson(json);
                               if (!alias) return tl::unexpected(alias.error());
                               state.aliases.push_back(std::move(*alias));
                               return Ok();
                             });
        !ok) {
      return ok;
    }
    Statement s;
    if (auto ok = s.Prepare(db_, "SELECT name, config FROM function_settings"); !ok) return ok;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      auto name = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
      auto json = ParseRow(s.get(), 1, "settings");
      if (!json) return tl::unexpected(json.error());
      auto settings = SettingsFromStorageJson(*json);
      if (!settings) return tl::unexpected(settings.error());
      state.settings[name ? name : ""] = std::move(*settings);
    }
    if (rc != SQLITE_DONE) return tl::unexpected(SqliteError(db_, "load settings"));
    return Ok();
  }();
  (void)Exec("COMMIT");
  if (!loaded) return tl::unexpected(loaded.error());

  // A function stored before settings had a row of their own: its tags were in the $LATEST
  // row and its version counter is the highest version it still has.
  std::set<std::string> derived;
  for (const FunctionConfig& config : state.versions) {
    if (state.settings.contains(config.name) && !derived.contains(config.name)) continue;
    derived.insert(config.name);
    FunctionSettings& settings = state.settings[config.name];
    if (config.version == "$LATEST") settings.tags = config.tags;
    settings.last_version = std::max(settings.last_version, VersionNumber(config.version));
  }
  return state;
}

}  // namespace lambent::registry
