#include "esm/mapping_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "base/clock.h"
#include "base/ids.h"
#include "sqs/sqs_message.h"

namespace lambent::esm {

namespace asio = boost::asio;

namespace {

Error DuplicateError(const std::string& region, const std::string& account,
                     const MappingConfig& config, const std::string& uuid) {
  return Error::Conflict(fmt::format(
      "An event source mapping with SQS arn (\" {} \") and function (\" {} \") already exists. "
      "Please update or delete the existing mapping with UUID {}",
      sqs::QueueArn(region, account, config.queue), config.function, uuid));
}

Error UnknownMapping() { return Error::NotFound("The resource you requested does not exist."); }

}  // namespace

Result<std::unique_ptr<MappingManager>> MappingManager::Open(
    asio::io_context& io, async::QueueEngine& engine, const registry::Registry& registry,
    InvokeFn invoke, async::Poster blocking, const std::filesystem::path& path,
    PollerOptions options) {
  auto store = MappingStore::Open(path);
  if (!store) return tl::unexpected(store.error());
  auto loaded = (*store)->LoadAll();
  if (!loaded) return tl::unexpected(loaded.error());
  std::unique_ptr<MappingManager> manager(new MappingManager(
      io, engine, registry, std::move(invoke), std::move(blocking), std::move(*store),
      std::move(options)));
  for (auto& mapping : *loaded) {
    Entry entry;
    entry.state = mapping.config.enabled ? State::kEnabled : State::kDisabled;
    std::string uuid = mapping.uuid;
    entry.mapping = std::move(mapping);
    manager->entries_.emplace(uuid, std::move(entry));
  }
  return manager;
}

MappingManager::MappingManager(asio::io_context& io, async::QueueEngine& engine,
                               const registry::Registry& registry, InvokeFn invoke,
                               async::Poster blocking, std::unique_ptr<MappingStore> store,
                               PollerOptions options)
    : io_(io),
      engine_(engine),
      blocking_(std::move(blocking)),
      store_(std::move(store)),
      poller_context_{io, engine, registry, std::move(invoke), std::move(options)} {}

MappingManager::~MappingManager() { Stop(); }

int64_t MappingManager::Now() const { return NowEpochMs(); }

void MappingManager::Start() {
  started_ = true;
  size_t enabled = 0;
  for (auto& [uuid, entry] : entries_) {
    Settle(uuid);
    if (entry.mapping.config.enabled) ++enabled;
  }
  if (!entries_.empty()) {
    spdlog::info("{} event source mapping(s), {} enabled", entries_.size(), enabled);
  }
}

void MappingManager::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [uuid, entry] : entries_) {
    if (entry.poller) entry.poller->Stop();
  }
}

bool MappingManager::QueueExists(const std::string& queue) const {
  return engine_.GetQueueOptions(queue).has_value();
}

MappingStatus MappingManager::StatusOf(const Entry& entry) const {
  MappingStatus status{entry.mapping, entry.state, {}};
  if (entry.poller) status.problem = entry.poller->problem();
  return status;
}

const MappingManager::Entry* MappingManager::Duplicate(const MappingConfig& config,
                                                       const std::string& uuid) const {
  for (const auto& [other_uuid, entry] : entries_) {
    const MappingConfig& other = entry.mapping.config;
    if (other_uuid != uuid && entry.state != State::kDeleting && other.queue == config.queue &&
        other.function == config.function && other.qualifier == config.qualifier) {
      return &entry;
    }
  }
  return nullptr;
}

void MappingManager::Create(MappingConfig config, Done done) {
  if (stopped_) return done(tl::unexpected(Error(ErrorCode::kUnavailable, "the daemon is stopping")));
  if (!QueueExists(config.queue)) {
    return done(tl::unexpected(Error::Invalid(
        "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
        "SQS Error Message: The specified queue does not exist.")));
  }
  const auto& options = poller_context_.options;
  if (const Entry* other = Duplicate(config, {})) {
    return done(tl::unexpected(
        DuplicateError(options.region, options.account_id, config, other->mapping.uuid)));
  }
  Mapping mapping{NewRequestId(), std::move(config), Now()};
  std::string uuid = mapping.uuid;
  // In the map at once (State Creating) so that a second Create of the same pair meets it.
  Entry& entry = entries_[uuid];
  entry.mapping = mapping;
  entry.state = State::kCreating;
  MappingStatus snapshot = StatusOf(entry);
  Write([mapping](MappingStore& store) { return store.Put(mapping); },
        [this, uuid, snapshot, done = std::move(done)](Result<void> written) {
          auto it = entries_.find(uuid);
          // Deleted while its write waited: the answer is what was created.
          if (it == entries_.end()) return done(snapshot);
          if (!written) {
            spdlog::error("event source mapping {}: {}", uuid, written.error().message());
            entries_.erase(it);
            return done(tl::unexpected(written.error()));
          }
          done(StatusOf(it->second));
          asio::post(io_, [this, uuid] { Settle(uuid); });
        });
}

void MappingManager::Update(const std::string& uuid,
                            std::function<Result<void>(MappingConfig&)> mutate, Done done) {
  if (stopped_) return done(tl::unexpected(Error(ErrorCode::kUnavailable, "the daemon is stopping")));
  auto it = entries_.find(uuid);
  if (it == entries_.end()) {
    return done(tl::unexpected(UnknownMapping()));
  }
  Entry& entry = it->second;
  if (entry.state == State::kDeleting) {
    return done(tl::unexpected(Error::Conflict(fmt::format(
        "Cannot update the event source mapping {} because it is being deleted.", uuid))));
  }
  MappingConfig config = entry.mapping.config;
  if (auto ok = mutate(config); !ok) return done(tl::unexpected(ok.error()));
  const auto& options = poller_context_.options;
  if (const Entry* other = Duplicate(config, uuid)) {
    return done(tl::unexpected(
        DuplicateError(options.region, options.account_id, config, other->mapping.uuid)));
  }
  Mapping previous = entry.mapping;
  bool was_enabled = previous.config.enabled;
  entry.mapping.config = std::move(config);
  entry.mapping.last_modified_ms = Now();
  entry.state = entry.mapping.config.enabled == was_enabled
                    ? State::kUpdating
                    : (entry.mapping.config.enabled ? State::kEnabling : State::kDisabling);
  uint64_t revision = ++entry.revision;
  Mapping mapping = entry.mapping;
  MappingStatus snapshot = StatusOf(entry);
  Write([mapping](MappingStore& store) { return store.Put(mapping); },
        [this, uuid, revision, previous, snapshot, done = std::move(done)](Result<void> written) {
          auto it = entries_.find(uuid);
          if (it == entries_.end()) return done(snapshot);
          if (!written) {
            spdlog::error("event source mapping {}: {}", uuid, written.error().message());
            if (it->second.revision == revision) {
              it->second.mapping = previous;
              Settle(uuid);
            }
            return done(tl::unexpected(written.error()));
          }
          done(StatusOf(it->second));
          asio::post(io_, [this, uuid] { Settle(uuid); });
        });
}

void MappingManager::Delete(const std::string& uuid, Done done) {
  auto it = entries_.find(uuid);
  if (it == entries_.end()) {
    return done(tl::unexpected(UnknownMapping()));
  }
  Entry& entry = it->second;
  if (entry.state == State::kDeleting) return done(StatusOf(entry));
  State before = entry.state;
  entry.state = State::kDeleting;
  uint64_t revision = ++entry.revision;
  MappingStatus snapshot = StatusOf(entry);
  Write([uuid](MappingStore& store) { return store.Remove(uuid); },
        [this, uuid, revision, before, snapshot, done = std::move(done)](Result<void> written) {
          auto it = entries_.find(uuid);
          // Gone already: an earlier change settled while this write waited.
          if (it == entries_.end()) return done(snapshot);
          if (!written) {
            spdlog::error("event source mapping {}: {}", uuid, written.error().message());
            if (it->second.revision == revision) it->second.state = before;
            return done(tl::unexpected(written.error()));
          }
          done(StatusOf(it->second));
          asio::post(io_, [this, uuid] { Settle(uuid); });
        });
}

void MappingManager::Settle(const std::string& uuid) {
  auto it = entries_.find(uuid);
  if (it == entries_.end() || !started_) return;
  Entry& entry = it->second;
  const MappingConfig& config = entry.mapping.config;
  bool deleting = entry.state == State::kDeleting;
  if (config.enabled && !deleting && !stopped_) {
    if (!entry.poller) {
      entry.poller = std::make_shared<Poller>(poller_context_, uuid, config);
    } else {
      entry.poller->SetConfig(config);
    }
    entry.poller->Enable();
    entry.state = State::kEnabled;
    return;
  }
  uint64_t revision = entry.revision;
  auto finish = [this, uuid, revision] {
    auto it = entries_.find(uuid);
    if (it == entries_.end() || it->second.revision != revision) return;
    if (it->second.state == State::kDeleting) {
      entries_.erase(it);
    } else {
      it->second.state = State::kDisabled;
    }
  };
  if (!entry.poller) return finish();
  entry.poller->SetConfig(config);
  // Disabling and deleting end once the batches in flight have.
  entry.poller->Disable(finish);
}

void MappingManager::Write(std::function<Result<void>(MappingStore&)> write,
                           std::function<void(Result<void>)> done) {
  writes_.push_back({std::move(write), std::move(done)});
  WriteNext();
}

void MappingManager::WriteNext() {
  if (writing_ || writes_.empty()) return;
  writing_ = true;
  auto write = std::move(writes_.front().write);
  blocking_([this, write = std::move(write)] {
    Result<void> result = write(*store_);
    asio::post(io_, [this, result = std::move(result)] {
      writing_ = false;
      PendingWrite done = std::move(writes_.front());
      writes_.pop_front();
      done.done(result);
      WriteNext();
    });
  });
}

std::optional<MappingStatus> MappingManager::Get(const std::string& uuid) const {
  auto it = entries_.find(uuid);
  if (it == entries_.end()) return std::nullopt;
  return StatusOf(it->second);
}

std::vector<MappingStatus> MappingManager::List() const {
  std::vector<MappingStatus> out;
  out.reserve(entries_.size());
  for (const auto& [uuid, entry] : entries_) out.push_back(StatusOf(entry));
  return out;
}

}  // namespace lambent::esm
