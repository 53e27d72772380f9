#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "registry/function_config.h"
#include "registry/sqlite_store.h"
#include "registry/store.h"

namespace lambent::registry {

using ConfigPtr = std::shared_ptr<const FunctionConfig>;
using AliasPtr = std::shared_ptr<const Alias>;

// What a function name with an optional qualifier names for one invocation.
struct Resolved {
  ConfigPtr config;   // the concrete version's configuration; config->version is what runs
  AliasPtr alias;     // set when the qualifier was an alias
};

// The functions that exist, with their published versions, aliases and settings: an
// in-memory model, written through to the store so it survives a restart. Thread-safe.
// Changes are serialised by a lock of their own, held across the store's write, and publish
// the result under the model's lock only once the store has it: a lookup (the invoke path)
// takes the model's shared lock and never waits for the disk.
//
// Qualifiers: empty or "$LATEST" names the mutable configuration; digits name a published
// version (immutable, numbered 1, 2, 3… per function, never reused); anything else an alias.
// Errors: kNotFound (Lambda's ResourceNotFoundException), kConflict (ResourceConflict),
// kPreconditionFailed (a stale RevisionId or CodeSha256), kInvalidArgument.
class Registry {
 public:
  explicit Registry(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  // Loads every stored function; call once before serving.
  Result<void> Load();

  // The $LATEST configuration of `name`, or null.
  ConfigPtr Find(const std::string& name) const;
  // A version ("$LATEST" or a number) of `name`, or null.
  ConfigPtr FindVersion(const std::string& name, const std::string& version) const;
  AliasPtr FindAlias(const std::string& name, const std::string& alias) const;
  // Resolves a qualifier to the version that runs. An alias with a routing weight w sends
  // the call to its additional version when `pick` (uniform in [0, 1)) is below w.
  // kNotFound names what is missing, as Lambda words it.
  Result<Resolved> Resolve(const std::string& name, const std::string& qualifier,
                           double pick = 0) const;
  // The $LATEST configuration of every function, sorted by name.
  std::vector<ConfigPtr> List() const;
  // $LATEST then the published versions in ascending order; kNotFound if no such function.
  Result<std::vector<ConfigPtr>> Versions(const std::string& name) const;
  // Sorted by name; kNotFound if no such function.
  Result<std::vector<AliasPtr>> Aliases(const std::string& name) const;
  // kNotFound if no such function.
  Result<FunctionSettings> Settings(const std::string& name) const;
  // Every function's settings (the scheduler's view of reservations and provisioning).
  std::map<std::string, FunctionSettings> AllSettings() const;

  // Adds a new function; kConflict if the name exists. Sets revision and LastModified; the
  // configuration's tags become the function's. With `publish`, also publishes version 1
  // and returns it; otherwise returns $LATEST.
  Result<ConfigPtr> Create(FunctionConfig config, bool publish = false);
  // Applies `mutate` to a copy of $LATEST and stores it with a new revision. kNotFound if
  // absent; kPreconditionFailed if `expected_revision` is set and stale; `mutate`'s own
  // error aborts the update. With `publish`, also publishes a version of the result and
  // returns that version (as UpdateFunctionCode with Publish does).
  Result<ConfigPtr> Update(const std::string& name, const std::string& expected_revision,
                           const std::function<Result<void>(FunctionConfig&)>& mutate,
                           bool publish = false);
  // Publishes $LATEST as the next version; when $LATEST has not changed since the newest
  // version (same code and configuration), returns that version instead. Preconditions when
  // set: `expected_revision` must equal $LATEST's RevisionId (kPreconditionFailed otherwise)
  // and `code_sha256` its CodeSha256 (kInvalidArgument otherwise: Lambda answers that one with
  // InvalidParameterValueException). `description` overrides the version's.
  Result<ConfigPtr> Publish(const std::string& name, const std::string& code_sha256,
                            const std::string& expected_revision, const std::string& description);
  // Removes a function, with every version, alias and setting; returns the versions it had
  // ($LATEST first). kNotFound if absent; any other error is the store's, and the function
  // then stays, in memory and in the store.
  Result<std::vector<ConfigPtr>> Delete(const std::string& name);
  // Removes one published version. kInvalidArgument for "$LATEST" (only the whole function
  // can go); kConflict while an alias routes to it or provisioned concurrency is set on it.
  Result<ConfigPtr> DeleteVersion(const std::string& name, const std::string& version);

  // Aliases. Names follow Lambda's rule (1-128 of [a-zA-Z0-9-_], not all digits, not
  // "$LATEST"); the version must exist and be a published one or, as Lambda allows, "$LATEST"
  // (then without routing); at most one additional version, a published one other than the
  // primary, weight in [0, 1]. Each change sets a new RevisionId. kNotFound for a missing
  // alias or version; kConflict when CreateAlias's name exists; kPreconditionFailed for a
  // stale `expected_revision`. Deleting an alias also removes its provisioned concurrency.
  Result<AliasPtr> CreateAlias(Alias alias);
  Result<AliasPtr> UpdateAlias(const std::string& name, const std::string& alias,
                               const std::string& expected_revision,
                               const std::function<Result<void>(Alias&)>& mutate);
  Result<void> DeleteAlias(const std::string& name, const std::string& alias,
                           const std::string& expected_revision = {});

  // Tags, held per function (Lambda's limits: 50 tags, key 1-128 and value 0-256
  // characters, keys starting "aws:" reserved).
  Result<void> Tag(const std::string& name, const std::map<std::string, std::string>& tags);
  Result<void> Untag(const std::string& name, const std::vector<std::string>& keys);

  // Reserved concurrency; nullopt removes the reservation.
  Result<void> SetReservedConcurrency(const std::string& name, std::optional<int> reserved);
  // Provisioned concurrency on a published version or an alias (not $LATEST); nullopt
  // removes it. kNotFound when the qualifier names nothing.
  Result<void> SetProvisioned(const std::string& name, const std::string& qualifier,
                              std::optional<ProvisionedConfig> config);

  // Event invoke configs, one per qualifier ("" and "$LATEST" are the same one). `mutate`
  // gets the current config (a default one when there is none and !`must_exist`) and its
  // result is stored with LastModified set. kNotFound when the function or qualifier does
  // not exist, or with `must_exist` when there is no config yet; `mutate`'s own error aborts.
  Result<EventInvokeConfig> ChangeEventInvokeConfig(
      const std::string& name, const std::string& qualifier, bool must_exist,
      const std::function<Result<void>(EventInvokeConfig&)>& mutate);
  // kNotFound when there is none.
  Result<void> DeleteEventInvokeConfig(const std::string& name, const std::string& qualifier);
  // The config of exactly that qualifier, if any (the async path: a shared lock, one lookup).
  std::optional<EventInvokeConfig> FindEventInvokeConfig(const std::string& name,
                                                         const std::string& qualifier) const;

 private:
  struct Function {
    ConfigPtr latest;
    std::map<int, ConfigPtr> versions;
    std::map<std::string, AliasPtr> aliases;
    FunctionSettings settings;
  };
  using FunctionPtr = std::shared_ptr<const Function>;

  // Stores `changes`, then installs `next` for `name` (null: the function is gone).
  Result<void> Commit(const std::string& name, const StoreChanges& changes, FunctionPtr next);
  FunctionPtr Get(const std::string& name) const;

  std::unique_ptr<Store> store_;         // GUARDED_BY(change_mutex_)
  std::mutex change_mutex_;              // taken before mutex_
  mutable std::shared_mutex mutex_;
  // Each function is an immutable snapshot, replaced whole on a change. Written with both
  // locks held; read under either (changes read it under change_mutex_).
  std::map<std::string, FunctionPtr> functions_;
};

}  // namespace lambent::registry
