#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/error.h"
#include "permissions/policy.h"

namespace lambent::permissions {

// Resource-based policies by function and qualifier ("" for the unqualified function), in
// memory and in `<dir>/policies.db` (a synchronous transaction per change: they are rare).
// Stored and returned faithfully; not enforced until requests are authenticated.
// Thread-safe; the changes write SQLite, so they run on the control-plane workers.
class PolicyStore {
 public:
  static Result<std::unique_ptr<PolicyStore>> Open(const std::filesystem::path& dir);
  ~PolicyStore();

  std::optional<Policy> Get(const std::string& function, const std::string& qualifier) const;
  // Adds a statement: kConflict when its Sid is taken, kPreconditionFailed when
  // `revision_id` is given and is not the policy's.
  Result<Policy> Add(const std::string& function, const std::string& qualifier, nlohmann::json statement,
                     const std::string& revision_id);
  // kNotFound when no statement has the Sid.
  Result<void> Remove(const std::string& function, const std::string& qualifier, const std::string& sid,
                      const std::string& revision_id);
  // The policy of one version or alias (it was deleted).
  Result<void> DeleteQualifier(const std::string& function, const std::string& qualifier);
  // Every policy of a function (it was deleted).
  Result<void> DeleteFunction(const std::string& function);

 private:
  explicit PolicyStore(sqlite3* db) : db_(db) {}
  Result<void> Write(const std::string& function, const std::string& qualifier, const Policy* policy);

  mutable std::mutex mutex_;
  sqlite3* db_;
  std::map<std::pair<std::string, std::string>, Policy> policies_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::permissions
