#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "async/async_event_observer.h"
#include "async/destination.h"
#include "async/event_log.h"
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
  // Where this daemon's ARNs point: destinations elsewhere are refused.
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Each event's fate is recorded here; null: not recorded. Must outlive the invoker.
  EventLog* event_log = nullptr;
  // Hears events received, dropped and failed deliveries (metrics); null: nobody. Must
  // outlive the invoker.
  AsyncEventObserver* observer = nullptr;
};

// Runs asynchronous invocations from durable queues, one per function
// (AsyncQueueName): Enqueue appends, and a poller per function leases what is visible
// (woken by WatchVisible, never spinning), resolves the qualifier at delivery, runs the
// event through the scheduler like any invocation, then acknowledges it or retries it as
// RetryPolicy says, with the limits of the event invoke config of the qualifier it was
// invoked with (as Lambda does: "" is $LATEST's, an alias's is its own). When it succeeds or
// fails for good its record goes to the config's OnSuccess / OnFailure destination (a
// function, invoked asynchronously, or a queue) and, on failure, the original event to the
// version's dead-letter queue; a destination that does not exist is logged and skipped.
// Function errors spend an attempt: the event is appended again with the
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
    std::optional<registry::EventInvokeConfig> invoke_config;
    EventLimits limits;
    registry::ConfigPtr config;  // the version that ran (or would have)
  };

  // Enqueue without the stop check: destination records of outcomes that arrive while the
  // daemon stops.
  void Append(const std::string& function, std::string request_id, std::string payload,
              AsyncEvent event, std::function<void(Result<void>)> stored);
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
  // The event's last word: acknowledges it, sends its record to the destination the
  // condition calls for and, on failure, the event to the dead-letter queue; logs it.
  // `outcome`: the attempt that ended it, if one ran.
  void Finish(Poller& poller, Delivery& delivery, Condition condition, int invoke_count,
              const scheduler::Outcome* outcome);
  void SendRecord(const std::string& arn, const std::string& function, const std::string& qualifier,
                  const std::string& id, std::string record);
  void SendToDeadLetter(const std::string& function, const Delivery& delivery,
                        const std::string& error_code, const std::string& error_message);
  void Log(const std::string& function, const std::string& id, const AsyncEvent& event,
           EventState state, int attempts, std::string error);
  EventLimits LimitsOf(const std::optional<registry::EventInvokeConfig>& config) const;
  std::string QualifiedArn(const std::string& function, const std::string& qualifier) const;
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
