#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"

namespace lambent::registry {

// One change of the registry, applied by the store all at once or not at all (publishing a
// version writes the version and the function's version counter together).
struct StoreChanges {
  std::vector<FunctionConfig> put_versions;                       // insert or replace by (name, version)
  std::vector<std::pair<std::string, std::string>> delete_versions;  // (name, version)
  std::vector<Alias> put_aliases;                                  // insert or replace by (function, name)
  std::vector<std::pair<std::string, std::string>> delete_aliases;   // (function, alias)
  std::vector<std::pair<std::string, FunctionSettings>> put_settings;  // (name, settings)
  std::vector<std::string> delete_functions;  // every version, alias and setting of each
};

// Everything a store holds.
struct StoredState {
  std::vector<FunctionConfig> versions;
  std::vector<Alias> aliases;
  std::map<std::string, FunctionSettings> settings;  // by function name
};

// Where the registry keeps functions. SqliteStore is the embedded one; a cluster backend
// implements the same; tests put a store that fails (a full disk, say) in its place.
// Implementations are thread-safe.
class Store {
 public:
  virtual ~Store() = default;
  virtual Result<void> Apply(const StoreChanges& changes) = 0;
  virtual Result<StoredState> LoadAll() = 0;
};

}  // namespace lambent::registry
