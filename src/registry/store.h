#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"

namespace lambent::registry {

// Where the registry keeps function configurations. SqliteStore is the real one; tests put
// a store that fails (a full disk, say) in its place. Implementations are thread-safe.
class Store {
 public:
  virtual ~Store() = default;
  // Inserts or replaces the row for (name, version).
  virtual Result<void> Put(const FunctionConfig& config) = 0;
  // Deletes every version of a function; all of them or, on error, none.
  virtual Result<void> DeleteFunction(const std::string& name) = 0;
  virtual Result<std::vector<FunctionConfig>> LoadAll() = 0;
};

}  // namespace lambent::registry
