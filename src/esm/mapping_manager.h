#pragma once

#include <boost/asio/io_context.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "async/queue_engine.h"
#include "base/error.h"
#include "esm/mapping.h"
#include "esm/mapping_store.h"
#include "esm/poller.h"
#include "registry/registry.h"

namespace lambent::esm {

// The event source mappings of SQS-compatible queues to functions: their configuration,
// kept in a MappingStore (written on `blocking`, one write at a time, never on the io
// thread), their Lambda State, and a Poller for each enabled one.
//
// A mapping outlives its function, as Lambda's does: it leases nothing while the function
// is missing (LastProcessingResult says so) and resumes when a function of that name
// exists again; DeleteEventSourceMapping removes it. The same holds for a deleted queue.
//
// io thread only: every method, and every `done` runs there.
class MappingManager {
 public:
  using Done = std::function<void(Result<MappingStatus>)>;

  // Opens (or creates) the store at `path` and loads it. `blocking` runs store writes off
  // the io thread (the control-plane workers). The references must outlive the manager.
  static Result<std::unique_ptr<MappingManager>> Open(boost::asio::io_context& io,
                                                      async::QueueEngine& engine,
                                                      const registry::Registry& registry,
                                                      InvokeFn invoke, async::Poster blocking,
                                                      const std::filesystem::path& path,
                                                      PollerOptions options);
  MappingManager(const MappingManager&) = delete;
  MappingManager& operator=(const MappingManager&) = delete;
  ~MappingManager();

  // Starts the pollers of the enabled mappings.
  void Start();
  // Leases nothing more; batches running still acknowledge what they finish. Idempotent.
  void Stop();

  // Whether the engine has a queue of that name.
  bool QueueExists(const std::string& queue) const;

  // Stores a new mapping and answers with it in State Creating; it becomes Enabled (or
  // Disabled) right after. kConflict when a mapping of the same function (and qualifier)
  // and queue exists; kInvalidArgument when the queue does not exist.
  void Create(MappingConfig config, Done done);
  // Applies `mutate` to a copy of the mapping's configuration and stores it; answers in
  // State Enabling, Disabling or Updating, which ends in Enabled or Disabled. kNotFound
  // for an unknown UUID; kConflict while it is being deleted or when the change would
  // duplicate another mapping; `mutate`'s own error aborts the update.
  void Update(const std::string& uuid, std::function<Result<void>(MappingConfig&)> mutate,
              Done done);
  // Removes the mapping from the store and answers in State Deleting; it is gone once its
  // batches in flight are done. kNotFound for an unknown UUID.
  void Delete(const std::string& uuid, Done done);

  std::optional<MappingStatus> Get(const std::string& uuid) const;
  // Every mapping, by UUID.
  std::vector<MappingStatus> List() const;

 private:
  struct Entry {
    Mapping mapping;
    State state = State::kCreating;
    uint64_t revision = 0;  // raised by each change, so a failed write undoes only its own
    // Held by a shared_ptr: its callbacks outlive the entry (see Poller).
    std::shared_ptr<Poller> poller;
  };

  MappingManager(boost::asio::io_context& io, async::QueueEngine& engine,
                 const registry::Registry& registry, InvokeFn invoke, async::Poster blocking,
                 std::unique_ptr<MappingStore> store, PollerOptions options);
  MappingStatus StatusOf(const Entry& entry) const;
  // The mapping of the same function, qualifier and queue, other than `uuid`, if any.
  const Entry* Duplicate(const MappingConfig& config, const std::string& uuid) const;
  // Brings the poller in line with the entry's configuration, then settles the state.
  void Settle(const std::string& uuid);
  // Runs `write` on the store off the io thread, after every write queued before it;
  // `done` runs on the io thread with its result.
  void Write(std::function<Result<void>(MappingStore&)> write,
             std::function<void(Result<void>)> done);
  void WriteNext();
  int64_t Now() const;

  boost::asio::io_context& io_;
  async::QueueEngine& engine_;
  async::Poster blocking_;
  std::unique_ptr<MappingStore> store_;  // used on `blocking_` only, one write at a time
  PollerContext poller_context_;
  std::map<std::string, Entry> entries_;  // by UUID
  struct PendingWrite {
    std::function<Result<void>(MappingStore&)> write;
    std::function<void(Result<void>)> done;
  };
  std::deque<PendingWrite> writes_;
  bool writing_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace lambent::esm
