#include "async/async_invoker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "async/async_event.h"
#include "base/clock.h"

namespace lambent::async {

namespace asio = boost::asio;

namespace {

// Lambda's longest timeout plus a margin: the lease outlasts any run, and every delivery
// ends its lease itself (Ack or Retry) when the outcome arrives.
constexpr int64_t kVisibilityTimeoutMs = (900 + 60) * 1000;

// Uniform in [0, 1): which way a weighted alias sends this delivery.
double Pick() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return double(generator() - std::minstd_rand::min()) /
         (double(std::minstd_rand::max() - std::minstd_rand::min()) + 1.0);
}

}  // namespace

AsyncInvoker::AsyncInvoker(asio::io_context& io, QueueEngine& engine,
                           const registry::Registry& registry, scheduler::Scheduler& scheduler,
                           AsyncInvokerOptions options)
    : io_(io),
      engine_(engine),
      registry_(registry),
      scheduler_(scheduler),
      options_(std::move(options)),
      policy_(options_.retry),
      post_([&io](std::function<void()> fn) { asio::post(io, std::move(fn)); }) {}

AsyncInvoker::~AsyncInvoker() { Stop(); }

int64_t AsyncInvoker::Now() const { return options_.now_ms ? options_.now_ms() : NowEpochMs(); }

void AsyncInvoker::Start() {
  int64_t queued = 0;
  int functions = 0;
  for (const auto& queue : engine_.ListQueues()) {
    auto function = FunctionOfAsyncQueue(queue);
    if (!function) continue;
    queues_.insert(*function);
    if (auto stats = engine_.Stats(queue); stats && stats->visible + stats->delayed > 0) {
      queued += stats->visible + stats->delayed;
      ++functions;
    }
    Watch(PollerFor(*function));
  }
  if (queued > 0)
    spdlog::info("resuming {} queued async event(s) of {} function(s)", queued, functions);
}

void AsyncInvoker::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [name, poller] : pollers_) {
    if (poller->watching) engine_.CancelWatch(poller->watch);
    poller->watching = false;
    if (poller->pause) poller->pause->cancel();
  }
}

AsyncInvoker::Poller& AsyncInvoker::PollerFor(const std::string& function) {
  auto& slot = pollers_[function];
  if (!slot) {
    slot = std::make_unique<Poller>();
    slot->function = function;
    slot->queue = AsyncQueueName(function);
  }
  return *slot;
}

Result<void> AsyncInvoker::EnsureQueue(const std::string& function) {
  if (queues_.contains(function)) return Ok();
  QueueOptions options;
  options.visibility_timeout_ms = kVisibilityTimeoutMs;
  // Kept past the event age limit so that the poller, not the engine, drops old events
  // (and says so).
  options.retention_ms =
      std::max<int64_t>(policy_.options().max_event_age_ms * 2, 24ll * 3600 * 1000);
  auto created = engine_.CreateQueue(AsyncQueueName(function), options);
  // A queue left by an earlier run may have other options: it is still this function's.
  if (!created && created.error().code() != ErrorCode::kConflict) return created;
  queues_.insert(function);
  return Ok();
}

void AsyncInvoker::Enqueue(const std::string& function, std::string request_id, std::string payload,
                           AsyncEvent event, std::function<void(Result<void>)> stored) {
  if (stopped_)
    return stored(tl::unexpected(Error(ErrorCode::kUnavailable, "the daemon is stopping")));
  if (auto ok = EnsureQueue(function); !ok) return stored(ok);
  std::vector<NewMessage> messages(1);
  messages[0].id = std::move(request_id);
  messages[0].body = std::move(payload);
  messages[0].attributes = event.ToAttributes();
  auto appended = engine_.Append(AsyncQueueName(function), std::move(messages),
                                 {post_, [this, function, stored](Result<void> result) {
                                    if (result) Watch(PollerFor(function));
                                    stored(std::move(result));
                                  }});
  if (!appended) stored(tl::unexpected(appended.error()));
}

int AsyncInvoker::InFlightLimit(const std::string& function) const {
  auto settings = registry_.Settings(function);
  // A reservation of 0 throttles every call: one at a time finds that out and backs off.
  if (settings && settings->reserved_concurrency)
    return std::max(1, *settings->reserved_concurrency);
  return std::max(1, options_.default_in_flight);
}

void AsyncInvoker::Watch(Poller& poller) {
  if (stopped_ || poller.watching || poller.paused) return;
  poller.watching = true;
  auto id = engine_.WatchVisible(poller.queue, post_, [this, &poller] {
    poller.watching = false;
    Pump(poller);
  });
  if (!id) {
    poller.watching = false;
    spdlog::warn("async events of {}: cannot watch their queue: {}", poller.function,
                 id.error().message());
    return;
  }
  poller.watch = *id;
}

void AsyncInvoker::PostPump(Poller& poller) {
  if (poller.pump_posted) return;
  poller.pump_posted = true;
  asio::post(io_, [this, &poller] {
    poller.pump_posted = false;
    Pump(poller);
  });
}

void AsyncInvoker::Pause(Poller& poller, int64_t delay_ms) {
  if (poller.paused || stopped_) return;
  if (poller.watching) {
    engine_.CancelWatch(poller.watch);
    poller.watching = false;
  }
  poller.paused = true;
  if (!poller.pause) poller.pause = std::make_unique<asio::steady_timer>(io_);
  poller.pause->expires_after(std::chrono::milliseconds(delay_ms));
  poller.pause->async_wait([this, &poller](boost::system::error_code ec) {
    poller.paused = false;
    if (!ec) Pump(poller);
  });
}

void AsyncInvoker::Pump(Poller& poller) {
  if (stopped_ || poller.paused) return;
  int limit = InFlightLimit(poller.function);
  while (poller.in_flight < limit && !poller.paused) {
    auto leased = engine_.Lease(poller.queue, limit - poller.in_flight, kVisibilityTimeoutMs);
    if (!leased) {
      spdlog::warn("async events of {}: {}", poller.function, leased.error().message());
      return;
    }
    if (leased->empty()) break;
    for (auto& message : *leased) Deliver(poller, std::move(message));
  }
  if (poller.in_flight < limit) Watch(poller);
}

void AsyncInvoker::Drop(Poller& poller, const std::string& id, const std::string& receipt,
                        const std::string& why) {
  not_run_.erase(id);
  spdlog::warn("async invoke {} of {} dropped: {}", id, poller.function, why);
  if (auto ok = engine_.Ack(poller.queue, receipt); !ok) {
    spdlog::debug("async invoke {} of {}: ack: {}", id, poller.function, ok.error().message());
  }
}

void AsyncInvoker::Deliver(Poller& poller, LeasedMessage leased) {
  Message& message = leased.message;
  auto event = AsyncEvent::FromAttributes(message.attributes);
  if (!event) return Drop(poller, message.id, leased.receipt, "unreadable event attributes");
  if (policy_.Expired(*event, Now())) {
    return Drop(poller, message.id, leased.receipt,
                fmt::format("older than the maximum event age ({} s) after {} attempt(s)",
                            policy_.options().max_event_age_ms / 1000, event->attempts));
  }
  auto resolved = registry_.Resolve(poller.function, event->qualifier, Pick());
  if (!resolved) {
    if (resolved.error().code() == ErrorCode::kNotFound) {
      return Drop(poller, message.id, leased.receipt, resolved.error().message());
    }
    Delivery delivery{message.id, leased.receipt, {}, std::move(*event)};
    return RetryNotRun(poller, delivery);
  }

  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->request_id = message.id;
  invocation->payload = message.body;
  invocation->client_context = event->client_context;
  invocation->invoked_arn = event->invoked_arn;
  invocation->config = std::move(resolved->config);
  // std::function needs a copyable callable: the delivery is shared, and used once.
  auto delivery =
      std::make_shared<Delivery>(Delivery{std::move(message.id), std::move(leased.receipt),
                                          std::move(message.body), std::move(*event)});
  invocation->done = [this, &poller, delivery](scheduler::Outcome outcome) {
    OnOutcome(poller, *delivery, std::move(outcome));
  };
  ++poller.in_flight;
  scheduler_.Invoke(std::move(invocation));
}

void AsyncInvoker::OnOutcome(Poller& poller, Delivery& delivery, scheduler::Outcome outcome) {
  --poller.in_flight;
  AttemptResult result = outcome.error            ? AttemptResult::kNotRun
                         : outcome.function_error ? AttemptResult::kFunctionError
                                                  : AttemptResult::kSuccess;
  if (stopped_ && result != AttemptResult::kSuccess) {
    // Stopping ends environments mid-run: not the function's failure. The lease is not
    // stored, so the event runs again after the restart with its attempts as they were.
    spdlog::info("async invoke {} of {} interrupted by the stop; it runs again at the next start",
                 delivery.id, poller.function);
    return;
  }
  if (result == AttemptResult::kNotRun && outcome.error->code() != ErrorCode::kTooManyRequests) {
    spdlog::debug("async invoke {} of {} not run: {}", delivery.id, poller.function,
                  outcome.error->message());
  }
  auto it = not_run_.find(delivery.id);
  auto decision = policy_.Decide(result, delivery.event, it == not_run_.end() ? 0 : it->second);
  switch (decision.action) {
    case RetryDecision::Action::kDone:
      if (it != not_run_.end()) not_run_.erase(it);
      if (auto ok = engine_.Ack(poller.queue, delivery.receipt); !ok) {
        spdlog::debug("async invoke {} of {}: ack: {}", delivery.id, poller.function,
                      ok.error().message());
      }
      break;
    case RetryDecision::Action::kRetrySame:
      RetryNotRun(poller, delivery);
      break;
    case RetryDecision::Action::kRetryNext:
      if (it != not_run_.end()) not_run_.erase(it);
      spdlog::info("async invoke {} of {}: attempt {} failed; retrying in {} ms", delivery.id,
                   poller.function, decision.attempts, decision.delay_ms);
      RetryNextAttempt(poller, std::move(delivery), decision.attempts, decision.delay_ms);
      break;
    case RetryDecision::Action::kDropExhausted:
      Drop(poller, delivery.id, delivery.receipt,
           fmt::format("{} attempt(s) failed; no failure destination", decision.attempts));
      break;
  }
  PostPump(poller);
}

void AsyncInvoker::RetryNotRun(Poller& poller, const Delivery& delivery) {
  int& count = not_run_[delivery.id];
  auto decision = policy_.Decide(AttemptResult::kNotRun, delivery.event, count);
  ++count;
  if (auto ok = engine_.Retry(poller.queue, delivery.receipt, decision.delay_ms); !ok) {
    spdlog::debug("async invoke {} of {}: retry: {}", delivery.id, poller.function,
                  ok.error().message());
  }
  // Leasing more now would only meet the same throttle.
  Pause(poller, decision.delay_ms);
}

void AsyncInvoker::RetryNextAttempt(Poller& poller, Delivery delivery, int attempts,
                                    int64_t delay_ms) {
  // The engine's Retry keeps a message's attributes, so the raised count travels in a new
  // copy; the old one goes only once the new one is durable.
  delivery.event.attempts = attempts;
  std::vector<NewMessage> messages(1);
  messages[0].id = delivery.id;
  messages[0].body = std::move(delivery.body);
  messages[0].attributes = delivery.event.ToAttributes();
  messages[0].delay_ms = delay_ms;
  auto fallback = [this, &poller, id = delivery.id, receipt = delivery.receipt,
                   delay_ms](const Error& error) {
    // The attempt goes uncounted rather than the event lost.
    spdlog::warn("async invoke {} of {}: cannot record the attempt ({}); retrying it as it was", id,
                 poller.function, error.message());
    if (auto ok = engine_.Retry(poller.queue, receipt, delay_ms); !ok) {
      spdlog::debug("async invoke {} of {}: retry: {}", id, poller.function, ok.error().message());
    }
  };
  auto appended =
      engine_.Append(poller.queue, std::move(messages),
                     {post_, [this, &poller, id = delivery.id, receipt = delivery.receipt,
                              fallback](Result<void> result) {
                        if (!result) return fallback(result.error());
                        if (auto ok = engine_.Ack(poller.queue, receipt); !ok) {
                          spdlog::debug("async invoke {} of {}: ack: {}", id, poller.function,
                                        ok.error().message());
                        }
                      }});
  if (!appended) fallback(appended.error());
}

}  // namespace lambent::async
