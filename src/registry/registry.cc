#include "registry/registry.h"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/ids.h"
#include "registry/rules.h"

namespace lambent::registry {
namespace {

std::string NewRevisionId() { return NewRequestId(); }

// Publishes `next.latest` into `next` (a Registry::Function under construction) and records
// the rows in `changes`; returns the version that now stands for $LATEST's state. A template
// only because Registry::Function is private to the registry.
template <typename Function>
ConfigPtr PublishInto(Function& next, const std::string& description, StoreChanges& changes) {
  const FunctionConfig& latest = *next.latest;
  if (auto it = next.versions.find(next.settings.last_version);
      it != next.versions.end() && SameCodeAndConfiguration(latest, *it->second)) {
    return it->second;
  }
  FunctionConfig version = latest;
  version.version = std::to_string(next.settings.last_version + 1);
  version.revision_id = NewRevisionId();
  version.last_modified_ms = NowEpochMs();
  if (!description.empty()) version.description = description;
  version.tags.clear();
  auto ptr = std::make_shared<const FunctionConfig>(std::move(version));
  next.settings.last_version += 1;
  next.versions[next.settings.last_version] = ptr;
  changes.put_versions.push_back(*ptr);
  changes.put_settings.emplace_back(latest.name, next.settings);
  return ptr;
}

// `next` as the immutable snapshot Commit installs.
template <typename Function>
std::shared_ptr<const Function> Snapshot(Function next) {
  return std::make_shared<const Function>(std::move(next));
}

// `value` once the change is stored; the store's error otherwise.
template <typename T>
Result<T> OnceStored(const Result<void>& stored, T value) {
  if (!stored) return tl::unexpected(stored.error());
  return value;
}

StoreChanges SettingsChange(const std::string& name, const FunctionSettings& settings) {
  StoreChanges changes;
  changes.put_settings.emplace_back(name, settings);
  return changes;
}

// `name`'s snapshot in `functions` (the registry's map, read under its change mutex) when
// `expected_revision` is empty or its $LATEST's; Lambda's error otherwise.
template <typename FunctionMap>
auto LatestAtRevision(const FunctionMap& functions, const std::string& name,
                      const std::string& expected_revision)
    -> Result<typename FunctionMap::mapped_type> {
  auto it = functions.find(name);
  if (it == functions.end()) return tl::unexpected(FunctionNotFound(name));
  if (auto ok = CheckRevision(expected_revision, it->second->latest->revision_id); !ok) {
    return tl::unexpected(ok.error());
  }
  return it->second;
}

// `alias` of `function` when `expected_revision` is empty or the alias's own; Lambda's error
// otherwise. A template only because Registry::Function is private to the registry.
template <typename Function>
Result<AliasPtr> AliasAtRevision(const Function& function, const std::string& name,
                                 const std::string& alias, const std::string& expected_revision) {
  auto found = function.aliases.find(alias);
  if (found == function.aliases.end()) return tl::unexpected(AliasNotFound(name, alias));
  if (auto ok = CheckRevision(expected_revision, found->second->revision_id); !ok) {
    return tl::unexpected(ok.error());
  }
  return found->second;
}

}  // namespace

Result<void> Registry::Load() {
  std::lock_guard changing(change_mutex_);
  auto all = store_->LoadAll();
  if (!all) return tl::unexpected(all.error());

  std::map<std::string, Function> loaded;
  for (auto& config : all->versions) {
    if (config.version != kLatest) continue;
    std::string name = config.name;
    // The function's tags live in its settings (LoadAll fills them in for old rows).
    config.tags.clear();
    loaded[name].latest = std::make_shared<const FunctionConfig>(std::move(config));
  }
  for (auto& config : all->versions) {
    auto it = loaded.find(config.name);
    int number = VersionNumber(config.version);
    // A version without its $LATEST row is an orphan no API call can reach.
    if (it == loaded.end() || number == 0) continue;
    config.tags.clear();
    it->second.versions[number] = std::make_shared<const FunctionConfig>(std::move(config));
  }
  for (auto& alias : all->aliases) {
    auto it = loaded.find(alias.function);
    if (it == loaded.end()) continue;
    std::string name = alias.name;
    it->second.aliases[name] = std::make_shared<const Alias>(std::move(alias));
  }
  for (auto& [name, function] : loaded) {
    if (auto it = all->settings.find(name); it != all->settings.end()) {
      function.settings = std::move(it->second);
    }
    // The counter never falls behind a stored version, whatever wrote the rows.
    if (!function.versions.empty()) {
      function.settings.last_version =
          std::max(function.settings.last_version, function.versions.rbegin()->first);
    }
  }

  std::map<std::string, FunctionPtr> functions;
  for (auto& [name, function] : loaded) {
    functions.emplace(name, std::make_shared<const Function>(std::move(function)));
  }
  std::unique_lock lock(mutex_);
  functions_ = std::move(functions);
  return Ok();
}

Registry::FunctionPtr Registry::Get(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second;
}

Result<void> Registry::Commit(const std::string& name, const StoreChanges& changes,
                              FunctionPtr next) {
  // The store first: on its error nothing in memory has changed.
  if (auto ok = store_->Apply(changes); !ok) return ok;
  std::unique_lock lock(mutex_);
  if (next) {
    functions_[name] = std::move(next);
  } else {
    functions_.erase(name);
  }
  return Ok();
}

ConfigPtr Registry::Find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second->latest;
}

ConfigPtr Registry::FindVersion(const std::string& name, const std::string& version) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return nullptr;
  const Function& function = *it->second;
  if (IsLatest(version)) return function.latest;
  auto found = function.versions.find(VersionNumber(version));
  return found == function.versions.end() ? nullptr : found->second;
}

AliasPtr Registry::FindAlias(const std::string& name, const std::string& alias) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return nullptr;
  auto found = it->second->aliases.find(alias);
  return found == it->second->aliases.end() ? nullptr : found->second;
}

Result<Resolved> Registry::Resolve(const std::string& name, const std::string& qualifier,
                                   double pick) const {
  // The invoke path: one shared lock, map lookups and shared_ptr copies only; the error
  // messages are built only on a miss.
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    return tl::unexpected(IsLatest(qualifier) ? FunctionNotFound(name)
                                              : QualifiedNotFound(name, qualifier));
  }
  const Function& function = *it->second;
  if (IsLatest(qualifier)) return Resolved{function.latest, nullptr};
  if (AllDigits(qualifier)) {
    auto found = function.versions.find(VersionNumber(qualifier));
    if (found == function.versions.end()) {
      return tl::unexpected(QualifiedNotFound(name, qualifier));
    }
    return Resolved{found->second, nullptr};
  }
  auto found = function.aliases.find(qualifier);
  if (found == function.aliases.end()) return tl::unexpected(QualifiedNotFound(name, qualifier));
  const Alias& alias = *found->second;
  const std::string& target = !alias.additional_version.empty() && pick < alias.additional_weight
                                  ? alias.additional_version
                                  : alias.version;
  if (target == kLatest) return Resolved{function.latest, found->second};
  auto version = function.versions.find(VersionNumber(target));
  // An alias always points at a stored version (deleting one it uses is refused); a miss here
  // is a broken invariant, reported rather than crashing the invoke path.
  if (version == function.versions.end()) {
    return tl::unexpected(Error::Internal(
        fmt::format("alias {}:{} points at missing version {}", name, qualifier, target)));
  }
  return Resolved{version->second, found->second};
}

std::vector<ConfigPtr> Registry::List() const {
  std::shared_lock lock(mutex_);
  std::vector<ConfigPtr> out;
  out.reserve(functions_.size());
  for (const auto& [_, function] : functions_) out.push_back(function->latest);
  return out;
}

Result<std::vector<ConfigPtr>> Registry::Versions(const std::string& name) const {
  FunctionPtr function = Get(name);
  if (!function) return tl::unexpected(FunctionNotFound(name));
  std::vector<ConfigPtr> out;
  out.reserve(function->versions.size() + 1);
  out.push_back(function->latest);
  for (const auto& [_, version] : function->versions) out.push_back(version);
  return out;
}

Result<std::vector<AliasPtr>> Registry::Aliases(const std::string& name) const {
  FunctionPtr function = Get(name);
  if (!function) return tl::unexpected(FunctionNotFound(name));
  std::vector<AliasPtr> out;
  out.reserve(function->aliases.size());
  for (const auto& [_, alias] : function->aliases) out.push_back(alias);
  return out;
}

Result<FunctionSettings> Registry::Settings(const std::string& name) const {
  FunctionPtr function = Get(name);
  if (!function) return tl::unexpected(FunctionNotFound(name));
  return function->settings;
}

std::map<std::string, FunctionSettings> Registry::AllSettings() const {
  std::shared_lock lock(mutex_);
  std::map<std::string, FunctionSettings> out;
  for (const auto& [name, function] : functions_) out.emplace(name, function->settings);
  return out;
}

Result<ConfigPtr> Registry::Create(FunctionConfig config, bool publish) {
  std::lock_guard changing(change_mutex_);
  if (functions_.contains(config.name)) {
    return tl::unexpected(Error::Conflict(fmt::format("Function already exist: {}", config.name)));
  }
  if (auto ok = ValidateTags(config.tags); !ok) return tl::unexpected(ok.error());
  Function next;
  next.settings.tags = std::move(config.tags);
  config.tags.clear();
  config.version = kLatest;
  config.revision_id = NewRevisionId();
  config.last_modified_ms = NowEpochMs();
  next.latest = std::make_shared<const FunctionConfig>(std::move(config));
  std::string name = next.latest->name;

  StoreChanges changes;
  changes.put_versions.push_back(*next.latest);
  ConfigPtr result = next.latest;
  if (publish) result = PublishInto(next, "", changes);
  // PublishInto may have queued the settings already; the last entry for a name wins.
  changes.put_settings.emplace_back(name, next.settings);
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), result);
}

Result<ConfigPtr> Registry::Update(const std::string& name, const std::string& expected_revision,
                                   const std::function<Result<void>(FunctionConfig&)>& mutate,
                                   bool publish) {
  std::lock_guard changing(change_mutex_);
  auto found = LatestAtRevision(functions_, name, expected_revision);
  if (!found) return tl::unexpected(found.error());
  const Function& current = **found;
  FunctionConfig config = *current.latest;
  if (auto ok = mutate(config); !ok) return tl::unexpected(ok.error());
  config.name = name;
  config.version = kLatest;
  config.tags.clear();
  config.revision_id = NewRevisionId();
  config.last_modified_ms = NowEpochMs();

  Function next = current;
  next.latest = std::make_shared<const FunctionConfig>(std::move(config));
  StoreChanges changes;
  changes.put_versions.push_back(*next.latest);
  ConfigPtr result = next.latest;
  if (publish) result = PublishInto(next, "", changes);
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), result);
}

Result<ConfigPtr> Registry::Publish(const std::string& name, const std::string& code_sha256,
                                    const std::string& expected_revision,
                                    const std::string& description) {
  std::lock_guard changing(change_mutex_);
  // Lambda checks the revision before the code.
  auto found = LatestAtRevision(functions_, name, expected_revision);
  if (!found) return tl::unexpected(found.error());
  const Function& current = **found;
  if (!code_sha256.empty() && code_sha256 != current.latest->code_sha256) {
    // Lambda answers this one with InvalidParameterValueException (400), not 412.
    return tl::unexpected(Error::Invalid(fmt::format(
        "CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). Please try "
        "again with the CodeSHA256 in $LATEST.",
        code_sha256, current.latest->code_sha256)));
  }
  Function next = current;
  StoreChanges changes;
  ConfigPtr version = PublishInto(next, description, changes);
  if (changes.put_versions.empty()) return version;  // nothing changed since that version
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), version);
}

Result<std::vector<ConfigPtr>> Registry::Delete(const std::string& name) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  FunctionPtr old = it->second;
  StoreChanges changes;
  changes.delete_functions.push_back(name);
  if (auto ok = Commit(name, changes, nullptr); !ok) return tl::unexpected(ok.error());
  std::vector<ConfigPtr> out;
  out.reserve(old->versions.size() + 1);
  out.push_back(old->latest);
  for (const auto& [_, version] : old->versions) out.push_back(version);
  return out;
}

Result<ConfigPtr> Registry::DeleteVersion(const std::string& name, const std::string& version) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  const Function& current = *it->second;
  if (IsLatest(version)) {
    return tl::unexpected(
        Error::Invalid("$LATEST version cannot be deleted without deleting the function."));
  }
  auto found = current.versions.find(VersionNumber(version));
  if (!AllDigits(version) || found == current.versions.end()) {
    return tl::unexpected(QualifiedNotFound(name, version));
  }
  std::vector<std::string> users;
  for (const auto& [alias_name, alias] : current.aliases) {
    if (alias->version == version || alias->additional_version == version) {
      users.push_back(alias_name);
    }
  }
  if (!users.empty()) {
    return tl::unexpected(Error::Conflict(
        fmt::format("Unable to delete version because the following aliases reference it: [{}]",
                    fmt::join(users, ", "))));
  }
  if (current.settings.provisioned.contains(version)) {
    return tl::unexpected(Error::Conflict(
        fmt::format("Unable to delete version {} of {} while it has a provisioned concurrency "
                    "configuration; delete that first.",
                    version, name)));
  }
  ConfigPtr old = found->second;
  Function next = current;
  next.versions.erase(found->first);
  StoreChanges changes;
  changes.delete_versions.emplace_back(name, old->version);
  // Its event invoke config goes with it: a version published later under another number
  // must not inherit it.
  if (next.settings.event_invoke.erase(old->version) > 0) {
    changes.put_settings.emplace_back(name, next.settings);
  }
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), old);
}

Result<AliasPtr> Registry::CreateAlias(Alias alias) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(alias.function);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(alias.function));
  const Function& current = *it->second;
  if (auto ok = ValidateAliasTarget(current.versions, alias); !ok)
    return tl::unexpected(ok.error());
  if (current.aliases.contains(alias.name)) {
    return tl::unexpected(
        Error::Conflict(fmt::format("Alias already exists: {}:{}", alias.function, alias.name)));
  }
  if (auto ok = ValidateAliasRouting(current.versions, alias); !ok)
    return tl::unexpected(ok.error());
  if (alias.additional_version.empty()) alias.additional_weight = 0;
  alias.revision_id = NewRevisionId();
  auto ptr = std::make_shared<const Alias>(std::move(alias));
  Function next = current;
  next.aliases[ptr->name] = ptr;
  StoreChanges changes;
  changes.put_aliases.push_back(*ptr);
  std::string name = ptr->function;
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), ptr);
}

Result<AliasPtr> Registry::UpdateAlias(const std::string& name, const std::string& alias,
                                       const std::string& expected_revision,
                                       const std::function<Result<void>(Alias&)>& mutate) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  const Function& current = *it->second;
  auto found = AliasAtRevision(current, name, alias, expected_revision);
  if (!found) return tl::unexpected(found.error());
  Alias updated = **found;
  if (auto ok = mutate(updated); !ok) return tl::unexpected(ok.error());
  updated.function = name;
  updated.name = alias;
  if (auto ok = ValidateAliasTarget(current.versions, updated); !ok)
    return tl::unexpected(ok.error());
  if (auto ok = ValidateAliasRouting(current.versions, updated); !ok)
    return tl::unexpected(ok.error());
  if (updated.additional_version.empty()) updated.additional_weight = 0;
  // Provisioned concurrency holds environments of one version; Lambda refuses to split an
  // alias that has it, and to move it onto the mutable $LATEST.
  if (current.settings.provisioned.contains(alias)) {
    if (!updated.additional_version.empty()) {
      return tl::unexpected(WeightedProvisioned());
    }
    if (updated.version == kLatest) {
      return tl::unexpected(UnpublishedProvisioned());
    }
  }
  updated.revision_id = NewRevisionId();
  auto ptr = std::make_shared<const Alias>(std::move(updated));
  Function next = current;
  next.aliases[alias] = ptr;
  StoreChanges changes;
  changes.put_aliases.push_back(*ptr);
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), ptr);
}

Result<void> Registry::DeleteAlias(const std::string& name, const std::string& alias,
                                   const std::string& expected_revision) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  const Function& current = *it->second;
  if (auto found = AliasAtRevision(current, name, alias, expected_revision); !found) {
    return tl::unexpected(found.error());
  }
  Function next = current;
  next.aliases.erase(alias);
  StoreChanges changes;
  changes.delete_aliases.emplace_back(name, alias);
  // The alias's provisioned concurrency goes with it, as on Lambda: its environments have
  // nothing left to serve.
  bool provisioned = next.settings.provisioned.erase(alias) > 0;
  bool event_invoke = next.settings.event_invoke.erase(alias) > 0;
  if (provisioned || event_invoke) changes.put_settings.emplace_back(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

Result<void> Registry::Tag(const std::string& name,
                           const std::map<std::string, std::string>& tags) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  Function next = *it->second;
  for (const auto& [key, value] : tags) next.settings.tags[key] = value;
  // Validated after the merge: the limit is on the function's tags, old and new together.
  if (auto ok = ValidateTags(next.settings.tags); !ok) return ok;
  StoreChanges changes = SettingsChange(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

Result<void> Registry::Untag(const std::string& name, const std::vector<std::string>& keys) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  Function next = *it->second;
  for (const std::string& key : keys) next.settings.tags.erase(key);
  StoreChanges changes = SettingsChange(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

Result<void> Registry::SetReservedConcurrency(const std::string& name,
                                              std::optional<int> reserved) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  if (reserved && *reserved < 0) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'reservedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 0",
        *reserved)));
  }
  Function next = *it->second;
  next.settings.reserved_concurrency = reserved;
  StoreChanges changes = SettingsChange(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

Result<void> Registry::SetProvisioned(const std::string& name, const std::string& qualifier,
                                      std::optional<ProvisionedConfig> config) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  const Function& current = *it->second;
  Function next = current;
  if (!config) {
    if (next.settings.provisioned.erase(qualifier) == 0) {
      return tl::unexpected(Error::NotFound(fmt::format(
          "No Provisioned Concurrency Config found for this function: {}:{}", name, qualifier)));
    }
    StoreChanges changes = SettingsChange(name, next.settings);
    return Commit(name, changes, Snapshot(std::move(next)));
  }

  if (IsLatest(qualifier)) return tl::unexpected(UnpublishedProvisioned());
  if (config->requested < 1) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1",
        config->requested)));
  }
  // The version whose environments the configuration keeps, and the qualifiers that would
  // then provision it twice (the version itself and every alias onto it).
  std::string version;
  if (AllDigits(qualifier)) {
    if (!current.versions.contains(VersionNumber(qualifier))) {
      return tl::unexpected(QualifiedNotFound(name, qualifier));
    }
    version = qualifier;
  } else {
    auto found = current.aliases.find(qualifier);
    if (found == current.aliases.end()) return tl::unexpected(AliasNotFound(name, qualifier));
    const Alias& alias = *found->second;
    if (alias.version == kLatest) return tl::unexpected(UnpublishedProvisioned());
    if (!alias.additional_version.empty()) {
      return tl::unexpected(WeightedProvisioned());
    }
    version = alias.version;
  }
  for (const auto& [other, _] : current.settings.provisioned) {
    if (other == qualifier) continue;
    auto alias = current.aliases.find(other);
    std::string other_version = alias == current.aliases.end() ? other : alias->second->version;
    if (other_version == version) {
      return tl::unexpected(Error::Conflict(fmt::format(
          "{} can't be used for Provisioned Concurrency configuration: version {} is already "
          "provisioned through {}",
          qualifier, version, other)));
    }
  }
  next.settings.provisioned[qualifier] = *config;
  StoreChanges changes = SettingsChange(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

namespace {

std::string EventInvokeKey(const std::string& qualifier) {
  return qualifier.empty() ? std::string(kLatest) : qualifier;
}

Error NoEventInvokeConfig(const std::string& name, const std::string& qualifier) {
  return Error::NotFound(fmt::format("The function {}:{} doesn't have an EventInvokeConfig", name,
                                     EventInvokeKey(qualifier)));
}

}  // namespace

Result<EventInvokeConfig> Registry::ChangeEventInvokeConfig(
    const std::string& name, const std::string& qualifier, bool must_exist,
    const std::function<Result<void>(EventInvokeConfig&)>& mutate) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(FunctionNotFound(name));
  const Function& current = *it->second;
  std::string key = EventInvokeKey(qualifier);
  bool exists = IsLatest(key) ||
                (AllDigits(key) ? current.versions.contains(VersionNumber(key))
                                : current.aliases.contains(key));
  if (!exists) return tl::unexpected(QualifiedNotFound(name, key));
  auto found = current.settings.event_invoke.find(key);
  if (must_exist && found == current.settings.event_invoke.end()) {
    return tl::unexpected(NoEventInvokeConfig(name, key));
  }
  EventInvokeConfig config =
      found == current.settings.event_invoke.end() ? EventInvokeConfig{} : found->second;
  if (auto ok = mutate(config); !ok) return tl::unexpected(ok.error());
  config.last_modified_ms = NowEpochMs();
  Function next = current;
  next.settings.event_invoke[key] = config;
  StoreChanges changes = SettingsChange(name, next.settings);
  return OnceStored(Commit(name, changes, Snapshot(std::move(next))), config);
}

Result<void> Registry::DeleteEventInvokeConfig(const std::string& name,
                                               const std::string& qualifier) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return tl::unexpected(NoEventInvokeConfig(name, qualifier));
  Function next = *it->second;
  if (next.settings.event_invoke.erase(EventInvokeKey(qualifier)) == 0) {
    return tl::unexpected(NoEventInvokeConfig(name, qualifier));
  }
  StoreChanges changes = SettingsChange(name, next.settings);
  return Commit(name, changes, Snapshot(std::move(next)));
}

std::optional<EventInvokeConfig> Registry::FindEventInvokeConfig(
    const std::string& name, const std::string& qualifier) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return std::nullopt;
  const auto& configs = it->second->settings.event_invoke;
  auto found = configs.find(EventInvokeKey(qualifier));
  if (found == configs.end()) return std::nullopt;
  return found->second;
}

}  // namespace lambent::registry
