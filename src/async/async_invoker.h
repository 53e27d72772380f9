#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "async/event_sink.h"
#include "async/queue_engine.h"
#include "async/retry_policy.h"
#include "registry/registry.h"
#include "scheduler/scheduler.h"

namespace lambent::async {

struct AsyncInvokerOptions {
  RetryPolicyOptions retry;
  // Events of one function running at once when it has no reserved concurrency (with one,
  // the reservation is the bound: more would only be throttled).
  int default_in_flight = 4;
  // Epoch ms; empty: the wall clock.
  std::function<int64_t()> now_ms;
};

// Runs asynchronous invocations from durable queues, one per function
// (AsyncQueueName): Enqueue appends, and a poller per function leases what is visible
// (woken by WatchVisible, never spinning), resolves the qualifier at delivery, runs the
// event through the scheduler like any invocation, then acknowledges it or retries it as
// RetryPolicy says. Function errors spend an attempt: the event is appended again with the
// attempt count raised and the old copy acknowledged once the new one is durable (a crash
// in between can run it once more, never lose it). Throttles and platform failures are
// retried with a short backoff without spending one, and pause the function's poller for
// that backoff. io thread only.
class AsyncInvoker final : public EventSink {
 public:
  AsyncInvoker(boost::asio::io_context& io, QueueEngine& engine, const registry::Registry& registry,
               scheduler::Scheduler& scheduler, AsyncInvokerOptions options);
  AsyncInvoker(const AsyncInvoker&) = delete;
  AsyncInvoker& operator=(const AsyncInvoker&) = delete;
  ~AsyncInvoker() override;

  // Resumes the events every function has queued (those of an earlier run included).
  void Start();
  // Delivers nothing more; the outcomes of events running are still recorded. For a
  // graceful stop: the scheduler can then drain.
  void Stop();

  void Enqueue(const std::string& function, std::string request_id, std::string payload,
               AsyncEvent event, std::function<void(Result<void>)> stored) override;

 private:
  struct Poller {
    std::string function;
    std::string queue;
    int in_flight = 0;
    bool watching = false;
    QueueEngine::WatchId watch = 0;
    bool pump_posted = false;
    bool paused = false;  // backing off after a throttle
    std::unique_ptr<boost::asio::steady_timer> pause;
  };
  // What the outcome of one delivery needs.
  struct Delivery {
    std::string id;
    std::string receipt;
    std::string body;  // kept to append again for a retry that spends an attempt
    AsyncEvent event;
  };

  Poller& PollerFor(const std::string& function);
  Result<void> EnsureQueue(const std::string& function);
  int InFlightLimit(const std::string& function) const;
  void Pump(Poller& poller);
  void PostPump(Poller& poller);
  void Watch(Poller& poller);
  void Pause(Poller& poller, int64_t delay_ms);
  void Deliver(Poller& poller, LeasedMessage leased);
  void OnOutcome(Poller& poller, Delivery& delivery, scheduler::Outcome outcome);
  void RetryNotRun(Poller& poller, const Delivery& delivery);
  void RetryNextAttempt(Poller& poller, Delivery delivery, int attempts, int64_t delay_ms);
  void Drop(Poller& poller, const std::string& id, const std::string& receipt,
            const std::string& why);
  int64_t Now() const;

  boost::asio::io_context& io_;
  QueueEngine& engine_;
  const registry::Registry& registry_;
  scheduler::Scheduler& scheduler_;
  AsyncInvokerOptions options_;
  RetryPolicy policy_;
  Poster post_;
  std::map<std::string, std::unique_ptr<Poller>> pollers_;  // by function; never removed
  std::set<std::string> queues_;                            // created (or found) already
  std::map<std::string, int> not_run_;  // by request id: retries in a row without running
  bool stopped_ = false;
};

}  // namespace lambent::async
