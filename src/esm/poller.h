#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "async/queue_engine.h"
#include "esm/mapping.h"
#include "esm/sqs_event.h"
#include "registry/registry.h"
#include "scheduler/invocation.h"

namespace lambent::esm {

// Hands an invocation to the scheduler (Scheduler::Invoke); a seam for tests.
using InvokeFn = std::function<void(std::unique_ptr<scheduler::Invocation>)>;

struct PollerOptions {
  std::string region;
  std::string account_id;
  // Batches in flight per mapping without ScalingConfig.MaximumConcurrency.
  int default_max_concurrency = 4;
  // After a throttle or a platform failure the batch comes back this long after, doubling
  // per failure in a row up to the maximum, and the poller leases nothing meanwhile.
  int64_t min_backoff_ms = 100;
  int64_t max_backoff_ms = 5000;
  // How often a mapping whose function or queue is gone looks again.
  int64_t recheck_ms = 2000;
};

// What every poller of a manager shares; outlives them.
struct PollerContext {
  boost::asio::io_context& io;
  async::QueueEngine& engine;
  const registry::Registry& registry;
  InvokeFn invoke;
  PollerOptions options;
};

// The poller of one mapping: leases batches from its queue (woken by WatchVisible, never
// spinning), waits up to the batching window for a batch to fill, runs each through the
// scheduler synchronously with Lambda's SQS event, and acknowledges what succeeded: every
// message on success, all but the reported ones with ReportBatchItemFailures, none on a
// function error (they come back after the queue's visibility timeout, and the queue's
// redrive policy moves them to its dead-letter queue after maxReceiveCount). Throttles and
// platform failures bring the batch back after a backoff and pause leasing for it. At most
// the mapping's MaximumConcurrency (or the default, and never more than the function's
// reserved concurrency) batches run at once. io thread only. Held by a shared_ptr: its
// watch, timers and invocations call back after its mapping is gone.
class Poller : public std::enable_shared_from_this<Poller> {
 public:
  Poller(PollerContext& context, std::string uuid, MappingConfig config);
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // The settings the next batch uses (batches in flight keep theirs).
  void SetConfig(MappingConfig config);
  // Starts leasing.
  void Enable();
  // Stops leasing and gives back the batch being gathered; `idle` runs (posted) once no
  // batch is in flight, at once when none is.
  void Disable(std::function<void()> idle);
  // For shutdown: leases nothing more and gives nothing back (leases end with the daemon).
  void Stop();

  int in_flight() const { return in_flight_; }
  // "PROBLEM: ..." when the last attempt could not run a batch; empty otherwise.
  const std::string& problem() const { return problem_; }

 private:
  struct Batch {
    std::vector<std::string> ids;
    std::vector<std::string> receipts;
  };

  void SetFilter();
  void Pump();
  void PostPump();
  void Watch();
  void CancelWatch();
  void Pause(int64_t delay_ms);
  void ArmWindow();
  void Dispatch();
  void OnOutcome(const Batch& batch, scheduler::Outcome outcome);
  void AckAll(const Batch& batch, const std::set<std::string>& except);
  // Ends the leases so the messages come back `delay_ms` from now.
  void Release(const std::vector<std::string>& receipts, int64_t delay_ms);
  int Limit() const;
  int64_t NextBackoff();
  void CheckIdle();

  PollerContext& context_;
  std::string uuid_;
  MappingConfig config_;
  RecordFilter filter_;
  std::string queue_arn_;
  bool enabled_ = false;
  bool stopped_ = false;
  int in_flight_ = 0;
  std::vector<async::LeasedMessage> pending_;  // the batch being gathered
  bool watching_ = false;
  async::QueueEngine::WatchId watch_ = 0;
  bool pump_posted_ = false;
  boost::asio::steady_timer window_timer_;
  bool window_armed_ = false;
  bool window_due_ = false;
  uint64_t window_generation_ = 0;
  boost::asio::steady_timer pause_timer_;
  bool paused_ = false;
  int64_t backoff_ms_ = 0;
  std::string problem_;
  std::function<void()> idle_;
};

}  // namespace lambent::esm
