#include "eventbridge/rule_store.h"

#include "async/sqlite_statement.h"
#include "base/json.h"

namespace lambent::eventbridge {

using async::SqliteError;
using async::Statement;

Result<std::unique_ptr<RuleStore>> RuleStore::Open(const std::filesystem::path& dir) {
  auto db = async::OpenDatabase(dir / "eventbridge.db",
                                "PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=FULL;"
                                "CREATE TABLE IF NOT EXISTS buses (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);"
                                "CREATE TABLE IF NOT EXISTS rules (bus TEXT NOT NULL, name TEXT NOT NULL,"
                                " doc TEXT NOT NULL, PRIMARY KEY (bus, name));");
  if (!db) return tl::unexpected(db.error());
  return std::unique_ptr<RuleStore>(new RuleStore(*db));
}

RuleStore::~RuleStore() { sqlite3_close(db_); }

Result<RuleStore::Contents> RuleStore::Load() {
  std::lock_guard lock(mutex_);
  Contents contents;
  Statement buses;
  if (auto ok = buses.Prepare(db_, "SELECT name, created_ms FROM buses ORDER BY name"); !ok) {
    return tl::unexpected(ok.error());
  }
  while (sqlite3_step(buses.get()) == SQLITE_ROW) {
    contents.buses.push_back({std::string(buses.Text(0)), buses.Int(1)});
  }
  Statement rules;
  if (auto ok = rules.Prepare(db_, "SELECT doc FROM rules ORDER BY bus, name"); !ok) return tl::unexpected(ok.error());
  while (sqlite3_step(rules.get()) == SQLITE_ROW) {
    auto doc = nlohmann::json::parse(rules.Text(0), nullptr, false);
    if (doc.is_object()) contents.rules.push_back(Rule::FromJson(doc));
  }
  return contents;
}

Result<void> RuleStore::Exec(const std::string& sql, const std::vector<std::string>& args) {
  Statement statement;
  if (auto ok = statement.Prepare(db_, sql.c_str()); !ok) return ok;
  for (size_t i = 0; i < args.size(); ++i) statement.BindText(int(i + 1), args[i]);
  return statement.Run(db_, sql);
}

Result<void> RuleStore::PutBus(const Bus& bus) {
  std::lock_guard lock(mutex_);
  return Exec("INSERT OR REPLACE INTO buses (name, created_ms) VALUES (?1, CAST(?2 AS INTEGER))",
              {bus.name, std::to_string(bus.created_ms)});
}

Result<void> RuleStore::DeleteBus(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto ok = Exec("DELETE FROM rules WHERE bus = ?1", {name}); !ok) return ok;
  return Exec("DELETE FROM buses WHERE name = ?1", {name});
}

Result<void> RuleStore::PutRule(const Rule& rule) {
  std::lock_guard lock(mutex_);
  return Exec("INSERT OR REPLACE INTO rules (bus, name, doc) VALUES (?1, ?2, ?3)",
              {rule.bus, rule.name, DumpJson(rule.ToJson())});
}

Result<void> RuleStore::DeleteRule(const std::string& bus, const std::string& name) {
  std::lock_guard lock(mutex_);
  return Exec("DELETE FROM rules WHERE bus = ?1 AND name = ?2", {bus, name});
}

}  // namespace lambent::eventbridge
