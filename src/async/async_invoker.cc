#include "async/async_invoker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "async/async_event.h"
#include "base/clock.h"
#include "base/ids.h"
#include "sqs/sqs_message.h"

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
  Append(function, std::move(request_id), std::move(payload), std::move(event), std::move(stored));
}

void AsyncInvoker::Append(const std::string& function, std::string request_id, std::string payload,
                          AsyncEvent event, std::function<void(Result<void>)> stored) {
  if (auto ok = EnsureQueue(function); !ok) return stored(ok);
  std::vector<NewMessage> messages(1);
  messages[0].id = request_id;
  messages[0].body = std::move(payload);
  messages[0].attributes = event.ToAttributes();
  auto appended = engine_.Append(
      AsyncQueueName(function), std::move(messages),
      {post_, [this, function, stored, id = std::move(request_id), event](Result<void> result) {
         if (result) {
           if (options_.observer) {
             options_.observer->OnAsyncEventReceived(function, event.qualifier);
           }
           Log(function, id, event, EventState::kQueued, event.attempts, {});
           Watch(PollerFor(function));
         }
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
  if (!event) {
    if (options_.observer) {
      options_.observer->OnAsyncEventDropped(poller.function, "", DropReason::kUnrunnable);
    }
    return Drop(poller, message.id, leased.receipt, "unreadable event attributes");
  }
  auto invoke_config = registry_.FindEventInvokeConfig(poller.function, event->qualifier);
  EventLimits limits = LimitsOf(invoke_config);
  auto resolved = registry_.Resolve(poller.function, event->qualifier, Pick());
  if (!resolved) {
    if (resolved.error().code() == ErrorCode::kNotFound) {
      Log(poller.function, message.id, *event, EventState::kFailed, event->attempts,
          resolved.error().message());
      if (options_.observer) {
        options_.observer->OnAsyncEventDropped(poller.function, event->qualifier,
                                               DropReason::kUnrunnable);
      }
      return Drop(poller, message.id, leased.receipt, resolved.error().message());
    }
    Delivery delivery{message.id, leased.receipt, {}, std::move(*event), invoke_config, limits, {}};
    return RetryNotRun(poller, delivery);
  }
  if (policy_.Expired(*event, Now(), limits)) {
    Delivery delivery{std::move(message.id), std::move(leased.receipt), std::move(message.body),
                      std::move(*event),     invoke_config,            limits,
                      resolved->config};
    return Finish(poller, delivery, Condition::kEventAgeExceeded, delivery.event.attempts, nullptr);
  }

  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->source = scheduler::InvocationSource::kEvent;
  invocation->request_id = message.id;
  invocation->payload = message.body;
  invocation->client_context = event->client_context;
  invocation->invoked_arn = event->invoked_arn;
  invocation->config = resolved->config;
  Log(poller.function, message.id, *event, EventState::kRunning, event->attempts + 1, {});
  // std::function needs a copyable callable: the delivery is shared, and used once.
  auto delivery = std::make_shared<Delivery>(
      Delivery{std::move(message.id), std::move(leased.receipt), std::move(message.body),
               std::move(*event), std::move(invoke_config), limits, std::move(resolved->config)});
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
  auto decision = policy_.Decide(result, delivery.event, it == not_run_.end() ? 0 : it->second,
                                 delivery.limits);
  switch (decision.action) {
    case RetryDecision::Action::kDone:
      Finish(poller, delivery, Condition::kSuccess, decision.attempts, &outcome);
      break;
    case RetryDecision::Action::kRetrySame:
      Log(poller.function, delivery.id, delivery.event, EventState::kQueued,
          delivery.event.attempts, outcome.error->message());
      RetryNotRun(poller, delivery);
      break;
    case RetryDecision::Action::kRetryNext:
      if (it != not_run_.end()) not_run_.erase(it);
      // A retry that would come after the event's maximum age could only find it expired:
      // it fails now instead of holding the event for nothing.
      if (Now() + decision.delay_ms - delivery.event.first_enqueued_ms >
          delivery.limits.max_event_age_ms) {
        Finish(poller, delivery, Condition::kEventAgeExceeded, decision.attempts, &outcome);
        break;
      }
      spdlog::info("async invoke {} of {}: attempt {} failed; retrying in {} ms", delivery.id,
                   poller.function, decision.attempts, decision.delay_ms);
      Log(poller.function, delivery.id, delivery.event, EventState::kRetrying, decision.attempts,
          ErrorMessageOf(outcome.body));
      RetryNextAttempt(poller, std::move(delivery), decision.attempts, decision.delay_ms);
      break;
    case RetryDecision::Action::kDropExhausted:
      Finish(poller, delivery, Condition::kRetriesExhausted, decision.attempts, &outcome);
      break;
  }
  PostPump(poller);
}

void AsyncInvoker::Finish(Poller& poller, Delivery& delivery, Condition condition,
                          int invoke_count, const scheduler::Outcome* outcome) {
  not_run_.erase(delivery.id);
  bool success = condition == Condition::kSuccess;
  std::string error;
  if (!success) {
    error = outcome ? ErrorMessageOf(outcome->body)
                    : fmt::format("older than the maximum event age ({} s)",
                                  delivery.limits.max_event_age_ms / 1000);
    spdlog::warn("async invoke {} of {} failed for good ({}) after {} attempt(s): {}", delivery.id,
                 poller.function, ConditionName(condition), invoke_count, error);
    if (options_.observer) {
      options_.observer->OnAsyncEventDropped(poller.function, delivery.event.qualifier,
                                             condition == Condition::kRetriesExhausted
                                                 ? DropReason::kRetriesExhausted
                                                 : DropReason::kEventAgeExceeded);
    }
  }
  const std::string* destination = nullptr;
  if (delivery.invoke_config) {
    destination = success ? &delivery.invoke_config->on_success : &delivery.invoke_config->on_failure;
  }
  if (destination && !destination->empty()) {
    RecordInput input;
    input.request_id = delivery.id;
    input.function_arn = QualifiedArn(poller.function, delivery.event.qualifier);
    input.condition = condition;
    input.approximate_invoke_count = invoke_count;
    input.request_payload = delivery.body;
    if (outcome) {
      input.response = AttemptResponse{200, delivery.config ? delivery.config->version : "$LATEST",
                                       outcome->function_error, outcome->body};
    }
    input.timestamp_ms = Now();
    SendRecord(*destination, poller.function, delivery.event.qualifier, delivery.id,
               DestinationRecord(input));
  }
  if (!success && delivery.config && !delivery.config->dead_letter_arn.empty()) {
    // Lambda's ErrorCode is the HTTP status of the last attempt: 200 for a function error.
    SendToDeadLetter(poller.function, delivery, outcome ? "200" : "500", error);
  }
  EventState state = success                                    ? EventState::kSucceeded
                     : condition == Condition::kRetriesExhausted ? EventState::kFailed
                                                                 : EventState::kExpired;
  // Acknowledged once the event log has its fate: a crash before then runs it again rather
  // than leave it "running" in the log for good.
  auto ack = [this, &poller, id = delivery.id, receipt = delivery.receipt] {
    if (auto ok = engine_.Ack(poller.queue, receipt); !ok) {
      spdlog::debug("async invoke {} of {}: ack: {}", id, poller.function, ok.error().message());
    }
  };
  if (!options_.event_log) return ack();
  options_.event_log->Record(EventEntry{delivery.id, poller.function, delivery.event.qualifier,
                                        state, invoke_count, std::move(error),
                                        delivery.event.first_enqueued_ms, Now()},
                             post_, std::move(ack));
}

void AsyncInvoker::SendRecord(const std::string& arn, const std::string& function,
                              const std::string& qualifier, const std::string& id,
                              std::string record) {
  // By value: it may run from a completion, after the delivery is gone.
  auto skipped = [this, arn, function, qualifier, id](const std::string& why) {
    spdlog::warn("async invoke {} of {}: its record for {} is dropped: {}", id, function, arn, why);
    if (options_.observer) options_.observer->OnDestinationDeliveryFailure(function, qualifier);
  };
  switch (DestinationKindOf(arn)) {
    case DestinationKind::kFunction: {
      auto parts = ParseFunctionArn(arn);
      if (!parts || parts->region != options_.region || parts->account != options_.account_id) {
        return skipped("not a function of this region and account");
      }
      if (!registry_.Find(parts->name)) return skipped("the function does not exist");
      AsyncEvent event;
      event.qualifier = parts->qualifier;
      event.invoked_arn = arn;
      event.first_enqueued_ms = Now();
      // Append, not Enqueue: an outcome that arrives while the daemon stops still delivers
      // its record.
      return Append(parts->name, NewRequestId(), std::move(record), std::move(event),
                    [skipped](Result<void> stored) {
                      if (!stored) skipped(stored.error().message());
                    });
    }
    case DestinationKind::kQueue: {
      auto queue = sqs::QueueNameFromArn(arn, options_.region, options_.account_id);
      if (!queue) return skipped("not a queue of this region and account");
      auto sent = sqs::Send(engine_, *queue, std::move(record), {}, options_.account_id,
                            {post_, [skipped](Result<void> stored) {
                               if (!stored) skipped(stored.error().message());
                             }});
      if (!sent) skipped(sent.error().message());
      return;
    }
    default:
      return skipped("lambent delivers to functions and queues only");
  }
}

void AsyncInvoker::SendToDeadLetter(const std::string& function, const Delivery& delivery,
                                    const std::string& error_code,
                                    const std::string& error_message) {
  const std::string& arn = delivery.config->dead_letter_arn;
  auto skipped = [this, arn, function, qualifier = delivery.event.qualifier,
                  id = delivery.id](const std::string& why) {
    spdlog::warn("async invoke {} of {}: not sent to its dead-letter queue {}: {}", id, function,
                 arn, why);
    if (options_.observer) options_.observer->OnDeadLetterError(function, qualifier);
  };
  auto queue = sqs::QueueNameFromArn(arn, options_.region, options_.account_id);
  if (!queue) return skipped("not a queue of this region and account");
  sqs::MessageAttributes attributes{{"RequestID", {"String", delivery.id}},
                                    {"ErrorCode", {"Number", error_code}}};
  // SQS refuses an empty String attribute.
  if (!error_message.empty()) attributes["ErrorMessage"] = {"String", error_message};
  auto sent = sqs::Send(engine_, *queue, delivery.body, std::move(attributes), options_.account_id,
                        {post_, [skipped](Result<void> stored) {
                           if (!stored) skipped(stored.error().message());
                         }});
  if (!sent) skipped(sent.error().message());
}

void AsyncInvoker::Log(const std::string& function, const std::string& id, const AsyncEvent& event,
                       EventState state, int attempts, std::string error) {
  if (!options_.event_log) return;
  options_.event_log->Record(EventEntry{id, function, event.qualifier, state, attempts,
                                        std::move(error), event.first_enqueued_ms, Now()});
}

EventLimits AsyncInvoker::LimitsOf(const std::optional<registry::EventInvokeConfig>& config) const {
  EventLimits limits = policy_.DefaultLimits();
  if (config && config->max_retry_attempts) limits.max_retry_attempts = *config->max_retry_attempts;
  if (config && config->max_event_age_s) {
    limits.max_event_age_ms = int64_t(*config->max_event_age_s) * 1000;
  }
  return limits;
}

std::string AsyncInvoker::QualifiedArn(const std::string& function,
                                       const std::string& qualifier) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}:{}", options_.region, options_.account_id,
                     function, qualifier.empty() ? "$LATEST" : qualifier);
}

void AsyncInvoker::RetryNotRun(Poller& poller, const Delivery& delivery) {
  int& count = not_run_[delivery.id];
  auto decision = policy_.Decide(AttemptResult::kNotRun, delivery.event, count, delivery.limits);
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
