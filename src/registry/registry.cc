#include "registry/registry.h"

#include <mutex>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/ids.h"

namespace lambent::registry {
namespace {

std::string NewRevisionId() { return NewRequestId(); }

}  // namespace

Result<void> Registry::Load() {
  std::lock_guard changing(change_mutex_);
  auto all = store_->LoadAll();
  if (!all) return tl::unexpected(all.error());
  std::unique_lock lock(mutex_);
  functions_.clear();
  for (auto& config : *all) {
    if (config.version != "$LATEST") continue;
    std::string name = config.name;
    functions_[name] = std::make_shared<const FunctionConfig>(std::move(config));
  }
  return Ok();
}

ConfigPtr Registry::Find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second;
}

std::vector<ConfigPtr> Registry::List() const {
  std::shared_lock lock(mutex_);
  std::vector<ConfigPtr> out;
  out.reserve(functions_.size());
  for (const auto& [_, config] : functions_) out.push_back(config);
  return out;
}

Result<ConfigPtr> Registry::Create(FunctionConfig config) {
  std::lock_guard changing(change_mutex_);
  if (functions_.contains(config.name)) {
    return tl::unexpected(Error::Conflict(fmt::format("Function already exist: {}", config.name)));
  }
  config.version = "$LATEST";
  config.revision_id = NewRevisionId();
  config.last_modified_ms = NowEpochMs();
  if (auto ok = store_->Put(config); !ok) return tl::unexpected(ok.error());
  auto ptr = std::make_shared<const FunctionConfig>(std::move(config));
  std::unique_lock lock(mutex_);
  functions_[ptr->name] = ptr;
  return ptr;
}

Result<ConfigPtr> Registry::Update(const std::string& name, const std::string& expected_revision,
                                   const std::function<Result<void>(FunctionConfig&)>& mutate) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    return tl::unexpected(Error::NotFound(fmt::format("Function not found: {}", name)));
  }
  if (!expected_revision.empty() && expected_revision != it->second->revision_id) {
    return tl::unexpected(Error::Conflict(
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
        "GetAlias API to retrieve the latest Revision Id"));
  }
  FunctionConfig next = *it->second;
  if (auto ok = mutate(next); !ok) return tl::unexpected(ok.error());
  next.name = name;
  next.version = "$LATEST";
  next.revision_id = NewRevisionId();
  next.last_modified_ms = NowEpochMs();
  if (auto ok = store_->Put(next); !ok) return tl::unexpected(ok.error());
  auto ptr = std::make_shared<const FunctionConfig>(std::move(next));
  std::unique_lock lock(mutex_);
  it->second = ptr;
  return ptr;
}

Result<ConfigPtr> Registry::Delete(const std::string& name) {
  std::lock_guard changing(change_mutex_);
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    return tl::unexpected(Error::NotFound(fmt::format("Function not found: {}", name)));
  }
  if (auto ok = store_->DeleteFunction(name); !ok) return tl::unexpected(ok.error());
  ConfigPtr old = it->second;
  std::unique_lock lock(mutex_);
  functions_.erase(it);
  return old;
}

}  // namespace lambent::registry
