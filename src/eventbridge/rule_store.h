#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "eventbridge/model.h"

namespace lambent::eventbridge {

// Event buses and rules (their targets inside) in `<dir>/eventbridge.db`. Each write is
// one synchronous transaction: rules change rarely, and a rule acknowledged must survive a
// crash. Thread-safe; called on the control-plane workers, never the io thread.
class RuleStore {
 public:
  static Result<std::unique_ptr<RuleStore>> Open(const std::filesystem::path& dir);
  ~RuleStore();

  struct Contents {
    std::vector<Bus> buses;  // the default bus is not stored: it always exists
    std::vector<Rule> rules;
  };
  Result<Contents> Load();

  Result<void> PutBus(const Bus& bus);
  Result<void> DeleteBus(const std::string& name);  // its rules too
  Result<void> PutRule(const Rule& rule);
  Result<void> DeleteRule(const std::string& bus, const std::string& name);

 private:
  explicit RuleStore(sqlite3* db) : db_(db) {}
  Result<void> Exec(const std::string& sql, const std::vector<std::string>& args);

  std::mutex mutex_;
  sqlite3* db_;
};

}  // namespace lambent::eventbridge
