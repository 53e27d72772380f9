#include "async/journal_writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace lambent::async {
namespace {

// After a failed commit (a full disk, say) the next one waits this long, so that a broken
// disk costs a retry now and then rather than a busy loop.
constexpr std::chrono::milliseconds kRetryPause{100};

void Tell(Completion& completion, const Result<void>& result) {
  if (!completion.done) return;
  if (!completion.post) {
    completion.done(result);
    return;
  }
  completion.post([done = std::move(completion.done), result]() { done(result); });
}

}  // namespace

JournalWriter::JournalWriter(std::unique_ptr<QueueJournal> journal, Options options,
                             OnCommitted on_committed, OnTurn on_turn)
    : options_(std::move(options)),
      on_committed_(std::move(on_committed)),
      on_turn_(std::move(on_turn)),
      journal_(std::move(journal)),
      thread_([this] { Run(); }) {}

JournalWriter::~JournalWriter() { Stop(); }

void JournalWriter::Submit(JournalRecord record) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  records_.push_back(std::move(record));
  // Only the first record of a batch wakes the thread; a full batch ends a batch window.
  if (records_.size() == 1 || records_.size() == options_.commit_after_records) wake_.notify_one();
}

void JournalWriter::Submit(std::vector<JournalRecord> records, Completion completion) {
  std::unique_lock lock(mutex_);
  if (stopped_) {
    lock.unlock();
    Tell(completion, tl::unexpected(Error::Internal("the queue engine is closed")));
    return;
  }
  if (records_.empty()) {
    records_ = std::move(records);
  } else {
    records_.insert(records_.end(), std::make_move_iterator(records.begin()),
                    std::make_move_iterator(records.end()));
  }
  completions_.push_back(std::move(completion));
  wake_.notify_one();
}

size_t JournalWriter::pending() const {
  std::lock_guard lock(mutex_);
  return records_.size() + committing_;
}

void JournalWriter::Poke() {
  std::lock_guard lock(mutex_);
  poked_ = true;
  wake_.notify_one();
}

void JournalWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void JournalWriter::Run() {
  ::pthread_setname_np(::pthread_self(), "queue-journal");
  std::unique_lock lock(mutex_);
  for (;;) {
    if (records_.empty() && completions_.empty()) {
      if (stopping_) break;
      lock.unlock();
      std::chrono::milliseconds sleep = on_turn_ ? on_turn_() : std::chrono::milliseconds(1000);
      lock.lock();
      wake_.wait_for(lock, sleep, [this] {
        return stopping_ || poked_ || !records_.empty() || !completions_.empty();
      });
      poked_ = false;
      continue;
    }
    if (options_.batch_window.count() > 0 && !stopping_) {
      wake_.wait_for(lock, options_.batch_window, [this] {
        return stopping_ || records_.size() >= options_.commit_after_records;
      });
    }
    if (!CommitBatch(lock) && stopping_) {
      // Closing on a disk that refuses commits: waiting would hang the shutdown.
      spdlog::error("queue journal: closing with {} uncommitted changes", records_.size());
      records_.clear();
      std::vector<Completion> orphans;
      orphans.swap(completions_);
      stopped_ = true;
      lock.unlock();
      for (Completion& completion : orphans) {
        Tell(completion,
             tl::unexpected(Error::Internal("the queue engine closed before a commit succeeded")));
      }
      return;
    }
    if (on_turn_) {
      lock.unlock();
      (void)on_turn_();  // delays may have ended while the commit ran
      lock.lock();
    }
  }
  stopped_ = true;
}

bool JournalWriter::CommitBatch(std::unique_lock<std::mutex>& lock) {
  std::vector<JournalRecord> records;
  std::vector<Completion> completions;
  records.swap(records_);
  completions.swap(completions_);
  committing_ = records.size();
  lock.unlock();

  if (options_.before_commit) options_.before_commit();
  Result<void> result = journal_->Commit(records);
  if (!result)
    spdlog::error("queue journal: commit of {} changes failed: {}", records.size(),
                  result.error().message());
  on_committed_(records, result);
  for (Completion& completion : completions) Tell(completion, result);

  if (!result) {
    // The appends of the batch are refused (their producers were told), but the other
    // changes (acks, moves, queue changes) were made in memory already: they go again,
    // before anything newer, or a restart would undo them.
    std::vector<JournalRecord> again;
    for (JournalRecord& record : records) {
      if (record.kind != JournalRecord::Kind::kInsert) again.push_back(std::move(record));
    }
    std::this_thread::sleep_for(kRetryPause);
    lock.lock();
    again.insert(again.end(), std::make_move_iterator(records_.begin()),
                 std::make_move_iterator(records_.end()));
    records_.swap(again);
    committing_ = 0;
    return false;
  }
  lock.lock();
  committing_ = 0;
  return true;
}

}  // namespace lambent::async
