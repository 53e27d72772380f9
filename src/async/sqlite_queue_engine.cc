#include "async/sqlite_queue_engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "base/ids.h"

namespace lambent::async {
namespace {

Result<void> Validate(const std::string& name, const QueueOptions& options) {
  if (name.empty()) return tl::unexpected(Error::Invalid("a queue needs a name"));
  if (options.visibility_timeout_ms < 0 || options.delay_ms < 0 || options.retention_ms <= 0 ||
      options.max_receive_count < 0) {
    return tl::unexpected(
        Error::Invalid(fmt::format("queue {}: negative timeout, delay or count", name)));
  }
  if (options.dead_letter_queue == name) {
    return tl::unexpected(
        Error::Invalid(fmt::format("queue {} cannot be its own dead-letter queue", name)));
  }
  return Ok();
}

JournalRecord Record(JournalRecord::Kind kind, uint64_t seq) {
  JournalRecord record;
  record.kind = kind;
  record.seq = seq;
  return record;
}

JournalRecord QueueRecord(JournalRecord::Kind kind, const std::string& queue) {
  JournalRecord record;
  record.kind = kind;
  record.queue = queue;
  return record;
}

}  // namespace

SqliteQueueEngine::SqliteQueueEngine(SqliteQueueEngineOptions options)
    : options_(std::move(options)) {}

Result<std::unique_ptr<SqliteQueueEngine>> SqliteQueueEngine::Open(
    const std::filesystem::path& dir, SqliteQueueEngineOptions options) {
  auto journal = QueueJournal::Open(dir, options.durability);
  if (!journal) return tl::unexpected(journal.error());
  auto contents = (*journal)->Load();
  if (!contents) return tl::unexpected(contents.error());

  std::unique_ptr<SqliteQueueEngine> engine(new SqliteQueueEngine(std::move(options)));
  const int64_t now = engine->Now();
  // No other thread knows the engine yet; the lock is for form's sake (and the analysis).
  std::lock_guard lock(engine->mutex_);
  for (auto& [name, queue_options] : contents->queues) {
    engine->queues_.try_emplace(name, queue_options, engine->next_generation_++);
  }
  size_t orphans = 0;
  for (JournalContents::Row& row : contents->messages) {
    engine->next_seq_ = std::max(engine->next_seq_, row.seq + 1);
    auto it = engine->queues_.find(row.queue);
    if (it == engine->queues_.end()) {
      ++orphans;
      continue;
    }
    // Leases are not journaled: what was leased when the last engine stopped is visible
    // now, unless a retry's delay is still running.
    it->second.Insert(row.seq, std::move(row.message), row.visible_at_ms, now);
  }
  if (orphans > 0) spdlog::warn("queue journal: {} messages of unknown queues ignored", orphans);

  JournalWriter::Options writer_options;
  writer_options.commit_after_records = engine->options_.commit_after_records;
  writer_options.batch_window = engine->options_.batch_window;
  writer_options.before_commit = engine->options_.before_commit;
  SqliteQueueEngine* self = engine.get();
  engine->writer_ = std::make_unique<JournalWriter>(
      std::move(*journal), std::move(writer_options),
      [self](std::vector<JournalRecord>& records, const Result<void>& result) {
        self->OnCommitted(records, result);
      },
      [self] { return self->OnTurn(); });
  return engine;
}

SqliteQueueEngine::~SqliteQueueEngine() { Close(); }

void SqliteQueueEngine::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  // Not under mutex_: the writer's last commit calls OnCommitted, which takes it.
  if (writer_) writer_->Stop();
}

Result<QueueState*> SqliteQueueEngine::FindLocked(const std::string& name) {
  auto it = queues_.find(name);
  if (it == queues_.end())
    return tl::unexpected(Error::NotFound(fmt::format("no queue named {}", name)));
  return &it->second;
}

void SqliteQueueEngine::AdvanceLocked(QueueState& state, int64_t now) {
  state.Advance(now);
  for (uint64_t seq : state.RemoveExpired(now))
    writer_->Submit(Record(JournalRecord::Kind::kDelete, seq));
}

void SqliteQueueEngine::TakeWatchesLocked(const std::string& queue, const QueueState* state,
                                          Fired& fired, bool always) {
  if (!always && (state == nullptr || !state->HasVisible())) return;
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (it->second.queue == queue) {
      fired.push_back(std::move(it->second));
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

void SqliteQueueEngine::Run(Fired& fired) {
  for (Watch& watch : fired) {
    if (!watch.fn) continue;
    if (watch.post) {
      watch.post(std::move(watch.fn));
    } else {
      watch.fn();
    }
  }
}

Result<void> SqliteQueueEngine::CreateQueue(const std::string& name, const QueueOptions& options) {
  if (auto ok = Validate(name, options); !ok) return ok;
  std::lock_guard lock(mutex_);
  if (auto it = queues_.find(name); it != queues_.end()) {
    if (it->second.options() == options) return Ok();
    return tl::unexpected(Error::Conflict(fmt::format("queue {} exists with other options", name)));
  }
  queues_.try_emplace(name, options, next_generation_++);
  JournalRecord record = QueueRecord(JournalRecord::Kind::kPutQueue, name);
  record.options = options;
  writer_->Submit(std::move(record));
  return Ok();
}

Result<void> SqliteQueueEngine::SetQueueOptions(const std::string& name,
                                                const QueueOptions& options) {
  if (auto ok = Validate(name, options); !ok) return ok;
  std::lock_guard lock(mutex_);
  auto state = FindLocked(name);
  if (!state) return tl::unexpected(state.error());
  if ((*state)->options().fifo != options.fifo) {
    return tl::unexpected(Error::Invalid(fmt::format("queue {}: a queue's FIFO setting cannot change", name)));
  }
  (*state)->set_options(options);
  JournalRecord record = QueueRecord(JournalRecord::Kind::kPutQueue, name);
  record.options = options;
  writer_->Submit(std::move(record));
  return Ok();
}

Result<QueueOptions> SqliteQueueEngine::GetQueueOptions(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto state = FindLocked(name);
  if (!state) return tl::unexpected(state.error());
  return (*state)->options();
}

std::vector<std::string> SqliteQueueEngine::ListQueues() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  names.reserve(queues_.size());
  for (const auto& [name, state] : queues_) names.push_back(name);
  return names;
}

Result<void> SqliteQueueEngine::DeleteQueue(const std::string& name) {
  Fired fired;
  {
    std::lock_guard lock(mutex_);
    auto it = queues_.find(name);
    if (it == queues_.end())
      return tl::unexpected(Error::NotFound(fmt::format("no queue named {}", name)));
    queues_.erase(it);
    writer_->Submit(QueueRecord(JournalRecord::Kind::kDeleteQueue, name));
    // Waiters learn of it from their next Lease rather than waiting forever.
    TakeWatchesLocked(name, nullptr, fired, /*always=*/true);
  }
  Run(fired);
  return Ok();
}

Result<void> SqliteQueueEngine::Purge(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto state = FindLocked(name);
  if (!state) return tl::unexpected(state.error());
  (*state)->Clear();
  // Appends still on their way to the disk are journaled before the purge record, which
  // deletes them there; the new generation keeps them out of memory too.
  (*state)->set_generation(next_generation_++);
  writer_->Submit(QueueRecord(JournalRecord::Kind::kPurge, name));
  return Ok();
}

Result<std::vector<std::string>> SqliteQueueEngine::Append(const std::string& queue,
                                                           std::vector<NewMessage> messages,
                                                           Completion completion) {
  std::vector<std::string> ids;
  ids.reserve(messages.size());
  {
    std::lock_guard lock(mutex_);
    if (closed_) return tl::unexpected(Error::Internal("the queue engine is closed"));
    auto state = FindLocked(queue);
    if (!state) return tl::unexpected(state.error());
    QueueState& q = **state;
    if (writer_->pending() + messages.size() > options_.max_pending_records) {
      return tl::unexpected(
          Error::Throttled("QueueBacklogFull", "too many writes wait for the disk; retry later"));
    }
    const bool fifo = q.options().fifo;
    if (fifo) {
      for (const NewMessage& m : messages) {
        if (m.group_id.empty()) {
          return tl::unexpected(Error::Invalid(fmt::format("queue {} is FIFO: every message needs a group id", queue)));
        }
      }
    }
    const int64_t now = Now();
    std::vector<JournalRecord> records;
    records.reserve(messages.size());
    for (NewMessage& m : messages) {
      if (fifo && !m.dedup_id.empty()) {
        if (auto original = q.Deduplicate(m.dedup_id, now)) {
          // Accepted again, stored once: SQS answers a duplicate with the original's id.
          ids.push_back(std::move(*original));
          continue;
        }
      }
      JournalRecord record;
      record.kind = JournalRecord::Kind::kInsert;
      record.queue = queue;
      record.seq = next_seq_++;
      record.generation = q.generation();
      record.message.id = m.id.empty() ? NewRequestId() : std::move(m.id);
      record.message.body = std::move(m.body);
      record.message.attributes = std::move(m.attributes);
      record.message.enqueued_ms = now;
      record.message.group_id = std::move(m.group_id);
      record.message.dedup_id = std::move(m.dedup_id);
      record.visible_at_ms =
          now + std::max<int64_t>(0, m.delay_ms < 0 ? q.options().delay_ms : m.delay_ms);
      if (fifo && !record.message.dedup_id.empty()) q.Remember(record.message.dedup_id, record.message.id, now);
      ids.push_back(record.message.id);
      records.push_back(std::move(record));
    }
    if (!records.empty()) {
      writer_->Submit(std::move(records), std::move(completion));
      return ids;
    }
  }
  // Only duplicates: nothing to wait for. Told outside the lock, as the contract says.
  if (completion.done) {
    if (completion.post) {
      completion.post([done = std::move(completion.done)] { done(Ok()); });
    } else {
      completion.done(Ok());
    }
  }
  return ids;
}

Result<std::vector<LeasedMessage>> SqliteQueueEngine::Lease(const std::string& queue,
                                                            int max_messages,
                                                            int64_t visibility_timeout_ms) {
  std::vector<LeasedMessage> leased;
  Fired fired;
  {
    std::lock_guard lock(mutex_);
    auto found = FindLocked(queue);
    if (!found) return tl::unexpected(found.error());
    QueueState& state = **found;
    const int64_t now = Now();
    AdvanceLocked(state, now);
    const QueueOptions& options = state.options();
    const int64_t timeout =
        visibility_timeout_ms < 0 ? options.visibility_timeout_ms : visibility_timeout_ms;
    QueueState* dead_letters = nullptr;
    if (options.max_receive_count > 0 && !options.dead_letter_queue.empty()) {
      if (auto it = queues_.find(options.dead_letter_queue); it != queues_.end())
        dead_letters = &it->second;
    }
    while (int(leased.size()) < max_messages) {
      std::optional<uint64_t> seq = state.NextVisible();
      if (!seq) break;
      if (dead_letters && state.Get(*seq).receive_count >= options.max_receive_count) {
        Message message = state.Take(*seq);
        message.receive_count = 0;
        message.first_receive_ms = 0;
        dead_letters->Insert(*seq, std::move(message), now, now);
        JournalRecord record = Record(JournalRecord::Kind::kMove, *seq);
        record.queue = options.dead_letter_queue;
        record.visible_at_ms = now;
        writer_->Submit(std::move(record));
        TakeWatchesLocked(options.dead_letter_queue, dead_letters, fired);
        continue;
      }
      // FIFO: the rest of the group follows in order while it can go in this batch.
      for (std::optional<uint64_t> next = seq; next && int(leased.size()) < max_messages;
           next = state.NextInGroup(leased.back().message.seq)) {
        if (dead_letters && state.Get(*next).receive_count >= options.max_receive_count) break;
        leased.push_back(state.Lease(*next, now, now + timeout, QueueState::NewReceipt(*next)));
        // Receive counts are journaled so redrive survives a restart; nobody waits for it.
        JournalRecord record = Record(JournalRecord::Kind::kLeased, *next);
        record.receive_count = leased.back().message.receive_count;
        record.first_receive_ms = leased.back().message.first_receive_ms;
        writer_->Submit(std::move(record));
      }
    }
  }
  Run(fired);
  return leased;
}

Result<SqliteQueueEngine::LeaseRef> SqliteQueueEngine::FindLeaseLocked(const std::string& queue,
                                                                       std::string_view receipt,
                                                                       int64_t now) {
  auto state = FindLocked(queue);
  if (!state) return tl::unexpected(state.error());
  AdvanceLocked(**state, now);
  auto seq = (*state)->FindLease(receipt);
  if (!seq) return tl::unexpected(seq.error());
  return LeaseRef{*state, *seq};
}

Result<void> SqliteQueueEngine::Ack(const std::string& queue, std::string_view receipt) {
  std::lock_guard lock(mutex_);
  auto lease = FindLeaseLocked(queue, receipt, Now());
  if (!lease) return tl::unexpected(lease.error());
  lease->state->Take(lease->seq);
  writer_->Submit(Record(JournalRecord::Kind::kDelete, lease->seq));
  return Ok();
}

Result<void> SqliteQueueEngine::ChangeVisibility(const std::string& queue, std::string_view receipt,
                                                 int64_t timeout_ms) {
  if (timeout_ms < 0)
    return tl::unexpected(Error::Invalid("a visibility timeout cannot be negative"));
  Fired fired;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = Now();
    auto lease = FindLeaseLocked(queue, receipt, now);
    if (!lease) return tl::unexpected(lease.error());
    // Not journaled: leases do not outlive the engine, so neither do their deadlines.
    if (timeout_ms == 0) {
      lease->state->Release(lease->seq, now, now);
      TakeWatchesLocked(queue, lease->state, fired);
    } else {
      lease->state->SetDeadline(lease->seq, now + timeout_ms);
    }
  }
  Run(fired);
  return Ok();
}

Result<void> SqliteQueueEngine::Retry(const std::string& queue, std::string_view receipt,
                                      int64_t delay_ms) {
  if (delay_ms < 0) return tl::unexpected(Error::Invalid("a retry delay cannot be negative"));
  Fired fired;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = Now();
    auto lease = FindLeaseLocked(queue, receipt, now);
    if (!lease) return tl::unexpected(lease.error());
    lease->state->Release(lease->seq, now + delay_ms, now);
    JournalRecord record = Record(JournalRecord::Kind::kRequeue, lease->seq);
    record.visible_at_ms = now + delay_ms;
    writer_->Submit(std::move(record));
    if (delay_ms == 0) {
      TakeWatchesLocked(queue, lease->state, fired);
    } else {
      writer_->Poke();  // a watch may now want a timer for the delay's end
    }
  }
  Run(fired);
  return Ok();
}

Result<QueueStats> SqliteQueueEngine::Stats(const std::string& queue) {
  std::lock_guard lock(mutex_);
  auto state = FindLocked(queue);
  if (!state) return tl::unexpected(state.error());
  const int64_t now = Now();
  AdvanceLocked(**state, now);
  return (*state)->Stats(now);
}

Result<QueueEngine::WatchId> SqliteQueueEngine::WatchVisible(const std::string& queue, Poster post,
                                                             std::function<void()> fn) {
  Fired fired;
  WatchId id;
  {
    std::lock_guard lock(mutex_);
    auto state = FindLocked(queue);
    if (!state) return tl::unexpected(state.error());
    AdvanceLocked(**state, Now());
    id = next_watch_++;
    watches_.emplace(id, Watch{queue, std::move(post), std::move(fn)});
    TakeWatchesLocked(queue, *state, fired);
    if (fired.empty()) writer_->Poke();  // the timer may need to wake sooner for this queue
  }
  Run(fired);
  return id;
}

void SqliteQueueEngine::CancelWatch(WatchId id) {
  std::lock_guard lock(mutex_);
  watches_.erase(id);
}

void SqliteQueueEngine::Flush(Completion completion) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      writer_->Submit({}, std::move(completion));
      return;
    }
  }
  // Closed: everything before is committed already.
  if (completion.done) {
    if (completion.post) {
      completion.post([done = std::move(completion.done)] { done(Ok()); });
    } else {
      completion.done(Ok());
    }
  }
}

void SqliteQueueEngine::OnCommitted(std::vector<JournalRecord>& records,
                                    const Result<void>& result) {
  // A failed commit kept none of its appends: their producers are told, and the messages
  // never become leasable.
  if (!result) return;
  Fired fired;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = Now();
    std::set<std::string> published;
    for (JournalRecord& record : records) {
      if (record.kind != JournalRecord::Kind::kInsert) continue;
      auto it = queues_.find(record.queue);
      if (it == queues_.end() || it->second.generation() != record.generation)
        continue;  // purged or deleted
      it->second.Insert(record.seq, std::move(record.message), record.visible_at_ms, now);
      published.insert(record.queue);
    }
    for (const std::string& queue : published) {
      QueueState& state = queues_.at(queue);
      state.Advance(now);
      TakeWatchesLocked(queue, &state, fired);
    }
  }
  Run(fired);
}

std::chrono::milliseconds SqliteQueueEngine::OnTurn() {
  Fired fired;
  std::chrono::milliseconds sleep = options_.max_timer_wait;
  {
    std::lock_guard lock(mutex_);
    if (watches_.empty()) return sleep;
    const int64_t now = Now();
    std::set<std::string> watched;
    for (const auto& [id, watch] : watches_) watched.insert(watch.queue);
    std::optional<int64_t> next;
    for (const std::string& queue : watched) {
      auto it = queues_.find(queue);
      if (it == queues_.end()) continue;
      AdvanceLocked(it->second, now);
      TakeWatchesLocked(queue, &it->second, fired);
      if (auto change = it->second.NextChangeMs(); change && (!next || *change < *next))
        next = change;
    }
    if (next) {
      sleep =
          std::clamp(std::chrono::milliseconds(*next - now), std::chrono::milliseconds(1), sleep);
    }
  }
  Run(fired);
  return sleep;
}

}  // namespace lambent::async
