#include "permissions/policy_store.h"

#include "async/sqlite_statement.h"
#include "base/ids.h"
#include "base/json.h"

namespace lambent::permissions {

using async::SqliteError;
using SqlStatement = async::Statement;
using nlohmann::json;

Result<std::unique_ptr<PolicyStore>> PolicyStore::Open(const std::filesystem::path& dir) {
  auto db = async::OpenDatabase(dir / "policies.db",
                                "PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=FULL;"
                                "CREATE TABLE IF NOT EXISTS policies (function TEXT NOT NULL, qualifier TEXT NOT NULL,"
                                " doc TEXT NOT NULL, PRIMARY KEY (function, qualifier));");
  if (!db) return tl::unexpected(db.error());
  std::unique_ptr<PolicyStore> store(new PolicyStore(*db));
  SqlStatement rows;
  if (auto ok = rows.Prepare(*db, "SELECT function, qualifier, doc FROM policies"); !ok) return tl::unexpected(ok.error());
  while (sqlite3_step(rows.get()) == SQLITE_ROW) {
    json doc = json::parse(rows.Text(2), nullptr, false);
    if (!doc.is_object() || !doc.contains("statements") || !doc["statements"].is_array()) continue;
    Policy policy;
    for (const json& s : doc["statements"]) policy.statements.push_back(s);
    policy.revision_id = doc.value("revision_id", NewRequestId());
    store->policies_[{std::string(rows.Text(0)), std::string(rows.Text(1))}] = std::move(policy);
  }
  return store;
}

PolicyStore::~PolicyStore() { sqlite3_close(db_); }

Result<void> PolicyStore::Write(const std::string& function, const std::string& qualifier, const Policy* policy) {
  SqlStatement statement;
  if (!policy || policy->statements.empty()) {
    if (auto ok = statement.Prepare(db_, "DELETE FROM policies WHERE function = ?1 AND qualifier = ?2"); !ok) return ok;
    statement.BindText(1, function);
    statement.BindText(2, qualifier);
    return statement.Run(db_, "delete a policy");
  }
  if (auto ok = statement.Prepare(db_, "INSERT OR REPLACE INTO policies (function, qualifier, doc) VALUES (?1, ?2, ?3)");
      !ok) {
    return ok;
  }
  std::string doc = DumpJson(json{{"statements", policy->statements}, {"revision_id", policy->revision_id}});
  statement.BindText(1, function);
  statement.BindText(2, qualifier);
  statement.BindText(3, doc);
  return statement.Run(db_, "write a policy");
}

std::optional<Policy> PolicyStore::Get(const std::string& function, const std::string& qualifier) const {
  std::lock_guard lock(mutex_);
  auto it = policies_.find({function, qualifier});
  if (it == policies_.end() || it->second.statements.empty()) return std::nullopt;
  return it->second;
}

Result<Policy> PolicyStore::Add(const std::string& function, const std::string& qualifier, json statement,
                                const std::string& revision_id) {
  std::lock_guard lock(mutex_);
  Policy policy;
  if (auto it = policies_.find({function, qualifier}); it != policies_.end()) policy = it->second;
  if (!revision_id.empty() && revision_id != policy.revision_id) {
    return tl::unexpected(Error::PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the "
        "latest Revision Id"));
  }
  std::string sid = statement.value("Sid", "");
  for (const json& existing : policy.statements) {
    if (existing.value("Sid", "") == sid) {
      return tl::unexpected(Error::Conflict(
          "The statement id (" + sid + ") provided already exists. Please choose another statement id."));
    }
  }
  policy.statements.push_back(std::move(statement));
  policy.revision_id = NewRequestId();
  if (auto ok = Write(function, qualifier, &policy); !ok) return tl::unexpected(ok.error());
  policies_[{function, qualifier}] = policy;
  return policy;
}

Result<void> PolicyStore::Remove(const std::string& function, const std::string& qualifier, const std::string& sid,
                                 const std::string& revision_id) {
  std::lock_guard lock(mutex_);
  auto it = policies_.find({function, qualifier});
  if (it == policies_.end()) {
    return tl::unexpected(Error::NotFound("No policy is associated with the given resource."));
  }
  if (!revision_id.empty() && revision_id != it->second.revision_id) {
    return tl::unexpected(Error::PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the "
        "latest Revision Id"));
  }
  Policy policy = it->second;
  auto removed = std::remove_if(policy.statements.begin(), policy.statements.end(),
                                [&](const json& s) { return s.value("Sid", "") == sid; });
  if (removed == policy.statements.end()) {
    return tl::unexpected(Error::NotFound("Statement " + sid + " is not found in resource policy."));
  }
  policy.statements.erase(removed, policy.statements.end());
  policy.revision_id = NewRequestId();
  if (auto ok = Write(function, qualifier, &policy); !ok) return ok;
  if (policy.statements.empty()) {
    policies_.erase(it);
  } else {
    it->second = std::move(policy);
  }
  return Ok();
}

Result<void> PolicyStore::DeleteQualifier(const std::string& function, const std::string& qualifier) {
  std::lock_guard lock(mutex_);
  auto it = policies_.find({function, qualifier});
  if (it == policies_.end()) return Ok();
  if (auto ok = Write(function, qualifier, nullptr); !ok) return ok;
  policies_.erase(it);
  return Ok();
}

Result<void> PolicyStore::DeleteFunction(const std::string& function) {
  std::lock_guard lock(mutex_);
  for (auto it = policies_.lower_bound({function, ""}); it != policies_.end() && it->first.first == function;) {
    if (auto ok = Write(it->first.first, it->first.second, nullptr); !ok) return ok;
    it = policies_.erase(it);
  }
  return Ok();
}

}  // namespace lambent::permissions
