#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
// restart. Thread-safe. Changes are serialised by a lock of their own, held across the
// store's write, and publish the result under the map's lock only once the store has it: a
// lookup (the invoke path) takes the map's shared lock and never waits for the disk.
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
  std::unique_ptr<Store> store_;         // GUARDED_BY(change_mutex_)
  std::mutex change_mutex_;              // taken before mutex_
  mutable std::shared_mutex mutex_;
  // Written with both locks held; read under either (changes read it under change_mutex_).
  std::map<std::string, ConfigPtr> functions_;
};

}  // namespace lambent::registry
