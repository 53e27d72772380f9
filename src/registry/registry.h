#pragma once

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"
#include "registry/sqlite_store.h"
#include "registry/store.h"

namespace lambent::registry {

using ConfigPtr = std::shared_ptr<const FunctionConfig>;

// The functions that exist: an in-memory map, written through to the store so it survives a
// restart. Thread-safe: lookups take a shared lock (the invoke path), changes an exclusive
// one and return only after the store has the change.
class Registry {
 public:
  explicit Registry(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  // Loads every stored function; call once before serving.
  Result<void> Load();

  // The $LATEST configuration of `name`, or null.
  ConfigPtr Find(const std::string& name) const;
  // All functions, sorted by name.
  std::vector<ConfigPtr> List() const;

  // Adds a new function; kConflict if the name exists. Sets revision and LastModified.
  Result<ConfigPtr> Create(FunctionConfig config);
  // Applies `mutate` to a copy of the current configuration and stores it with a new
  // revision. kNotFound if absent; kConflict if `expected_revision` is set and stale;
  // `mutate`'s own error aborts the update.
  Result<ConfigPtr> Update(const std::string& name, const std::string& expected_revision,
                           const std::function<Result<void>(FunctionConfig&)>& mutate);
  // Removes a function; returns the configuration it had. kNotFound if absent; any other
  // error is the store's, and the function then stays, in memory and in the store.
  Result<ConfigPtr> Delete(const std::string& name);

 private:
  std::unique_ptr<Store> store_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, ConfigPtr> functions_;  // GUARDED_BY(mutex_)
};

}  // namespace lambent::registry
