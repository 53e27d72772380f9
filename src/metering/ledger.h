#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "base/error.h"
#include "metering/invocation_list.h"
#include "metering/prices.h"
#include "metering/usage.h"
#include "metering/usage_series.h"
#include "telemetry/invocation_record.h"

struct sqlite3;

namespace lambent::metering {

struct LedgerOptions {
  std::chrono::milliseconds flush_interval{200};  // records reach the file this often...
  size_t batch_records = 2000;                    // ...or as soon as this many wait
  // Records waiting beyond this (the disk stalled for long) are dropped, counted and logged,
  // rather than growing the daemon without bound.
  size_t max_pending = 1000000;
  // The price table (see LoadPrices); empty: the defaults.
  std::filesystem::path prices_file;
  // Records older than this many days are deleted (0: kept forever). A little over a year,
  // so that a year's usage can be compared with the one before.
  int retention_days = 400;
  // The writer deletes at most this many rows of each table per round, between flushes, so
  // a first prune of a large file never holds up the records that wait.
  size_t prune_batch = 1000;
  // How often the writer looks for old records when the last look found none left.
  std::chrono::milliseconds prune_interval{std::chrono::minutes(10)};
  // Epoch ms; empty: the wall clock (tests inject one).
  std::function<int64_t()> now_ms;
};

// The usage ledger: every invocation, throttle and provisioned-concurrency period, kept in a
// SQLite file that survives restarts. Hearing an invocation costs the io thread one append
// to a vector under a mutex; a writer thread of its own writes what waits in batches, one
// transaction each. Records are lost only if the process dies before a flush (a crash loses
// at most the last flush interval; a clean stop loses none: see Stop). Thread-safe.
class Ledger : public telemetry::InvocationObserver {
 public:
  // Opens (creating it and its directory) the file at `path` and starts the writer.
  static Result<std::unique_ptr<Ledger>> Open(const std::filesystem::path& path,
                                              LedgerOptions options = {});
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  // Stops (writing what waits) and closes the file.
  ~Ledger() override;

  // Never wait for the disk: any thread, the io thread's included.
  void OnInvocation(const telemetry::InvocationRecord& record) override;
  void OnThrottle(std::string_view function, std::string_view version,
                  std::string_view reason) override;
  void RecordProvisioned(ProvisionedSample sample);

  // Blocks until what was recorded before the call is in the file (tests, queries).
  void Flush();
  // Writes what waits and ends the writer; later records are dropped. Idempotent.
  void Stop();
  // Adds up the usage `query` selects, with what was recorded until the call. Blocks on the
  // file: never on the io thread.
  Result<UsageReport> Query(const UsageQuery& query);
  // The invocations `query` selects step by step (the dashboard's charts). Blocks on the
  // file: never on the io thread.
  Result<std::vector<SeriesPoint>> Series(const SeriesQuery& query);
  // The newest invocations `query` selects, newest first, and the one with a request id (the
  // dashboard's list and its log lines). Block on the file: never on the io thread.
  Result<std::vector<UsageRecord>> Recent(const RecentQuery& query);
  // Only records of [since_ms, until_ms] are looked at, through the time index.
  Result<std::optional<UsageRecord>> FindInvocation(const std::string& request_id, int64_t since_ms,
                                                    int64_t until_ms);
  // The price table in force: LedgerOptions::prices_file, read at each call so that a change
  // needs no restart. Blocking.
  Result<PriceTable> Prices() const;
  // Records dropped because the writer fell too far behind.
  uint64_t dropped() const;
  // Rows deleted for being older than the retention, since the ledger was opened.
  uint64_t pruned() const;

 private:
  struct Batch {
    std::vector<UsageRecord> invocations;
    std::vector<ThrottleRecord> throttles;
    std::vector<ProvisionedSample> provisioned;
    size_t size() const { return invocations.size() + throttles.size() + provisioned.size(); }
    void clear() {
      invocations.clear();
      throttles.clear();
      provisioned.clear();
    }
  };

  Ledger(sqlite3* writer_db, sqlite3* reader_db, LedgerOptions options);
  // Under mutex_: room for one more record; false: it is dropped.
  bool Admit();
  // Under mutex_, after an append.
  void WakeIfFull();
  void Run();
  Result<void> Write(const Batch& batch);
  // Writer thread: deletes one batch of rows past the retention when one is due. Returns
  // whether more may remain (another batch is due at the next round).
  bool Prune();

  sqlite3* writer_db_;  // the writer thread's
  sqlite3* reader_db_;  // GUARDED_BY(reader_mutex_)
  LedgerOptions options_;
  std::mutex reader_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  Batch pending_;           // GUARDED_BY(mutex_)
  uint64_t submitted_ = 0;  // GUARDED_BY(mutex_): batches taken by the writer
  uint64_t written_ = 0;    // GUARDED_BY(mutex_): batches it finished
  uint64_t dropped_ = 0;    // GUARDED_BY(mutex_)
  bool flush_now_ = false;  // GUARDED_BY(mutex_)
  bool stopping_ = false;   // GUARDED_BY(mutex_)
  bool stopped_ = false;    // GUARDED_BY(mutex_): the writer has ended
  uint64_t pruned_ = 0;     // GUARDED_BY(mutex_)
  int64_t next_prune_ms_ = 0;  // the writer thread's
  std::thread writer_;
};

}  // namespace lambent::metering
