#include "esm/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "base/ids.h"
#include "esm/sqs_event.h"
#include "sqs/sqs_message.h"

namespace lambent::esm {

namespace asio = boost::asio;

namespace {

// Uniform in [0, 1): which way a weighted alias sends this batch.
double Pick() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return double(generator() - std::minstd_rand::min()) /
         (double(std::minstd_rand::max() - std::minstd_rand::min()) + 1.0);
}

}  // namespace

Poller::Poller(PollerContext& context, std::string uuid, MappingConfig config)
    : context_(context),
      uuid_(std::move(uuid)),
      config_(std::move(config)),
      queue_arn_(sqs::QueueArn(context.options.region, context.options.account_id, config_.queue)),
      window_timer_(context.io),
      pause_timer_(context.io) {
  SetFilter();
}

void Poller::SetFilter() {
  auto filter = RecordFilter::Parse(config_.filters);
  if (!filter) {
    // The API checked every pattern: a stored one that no longer parses filters nothing out
    // rather than deleting messages unseen.
    spdlog::warn("event source mapping {}: {}", uuid_, filter.error().message());
    filter_ = RecordFilter();
    return;
  }
  filter_ = std::move(*filter);
}

void Poller::SetConfig(MappingConfig config) {
  config_ = std::move(config);
  SetFilter();
  if (enabled_) PostPump();
}

void Poller::Enable() {
  if (stopped_) return;
  enabled_ = true;
  idle_ = nullptr;
  PostPump();
}

void Poller::Disable(std::function<void()> idle) {
  enabled_ = false;
  CancelWatch();
  window_timer_.cancel();
  window_armed_ = false;
  window_due_ = false;
  if (!pending_.empty()) {
    std::vector<std::string> receipts;
    for (const auto& leased : pending_) receipts.push_back(leased.receipt);
    pending_.clear();
    Release(receipts, 0);
  }
  idle_ = std::move(idle);
  CheckIdle();
}

void Poller::Stop() {
  stopped_ = true;
  enabled_ = false;
  CancelWatch();
  window_timer_.cancel();
  pause_timer_.cancel();
}

void Poller::CheckIdle() {
  if (in_flight_ > 0 || !idle_ || enabled_) return;
  asio::post(context_.io, std::move(idle_));
  idle_ = nullptr;
}

int Poller::Limit() const {
  int limit = config_.maximum_concurrency > 0 ? config_.maximum_concurrency
                                              : context_.options.default_max_concurrency;
  // More batches than the function may run at once would only be throttled. A reservation
  // of 0 lets one through to meet the throttle and back off.
  auto settings = context_.registry.Settings(config_.function);
  if (settings && settings->reserved_concurrency) {
    limit = std::min(limit, std::max(1, *settings->reserved_concurrency));
  }
  return std::max(1, limit);
}

int64_t Poller::NextBackoff() {
  backoff_ms_ = backoff_ms_ == 0 ? context_.options.min_backoff_ms
                                 : std::min(backoff_ms_ * 2, context_.options.max_backoff_ms);
  return backoff_ms_;
}

void Poller::Watch() {
  if (watching_ || !enabled_ || paused_ || stopped_) return;
  watching_ = true;
  auto id = context_.engine.WatchVisible(
      config_.queue, [&io = context_.io](std::function<void()> fn) { asio::post(io, std::move(fn)); },
      [self = shared_from_this()] {
        self->watching_ = false;
        self->Pump();
      });
  if (!id) {
    watching_ = false;
    problem_ = "PROBLEM: " + id.error().message();
    Pause(context_.options.recheck_ms);
    return;
  }
  watch_ = *id;
}

void Poller::CancelWatch() {
  if (!watching_) return;
  context_.engine.CancelWatch(watch_);
  watching_ = false;
}

void Poller::PostPump() {
  if (pump_posted_) return;
  pump_posted_ = true;
  asio::post(context_.io, [self = shared_from_this()] {
    self->pump_posted_ = false;
    self->Pump();
  });
}

void Poller::Pause(int64_t delay_ms) {
  if (paused_ || stopped_) return;
  CancelWatch();
  paused_ = true;
  pause_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  pause_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->paused_ = false;
    if (!ec) self->Pump();
  });
}

void Poller::ArmWindow() {
  window_armed_ = true;
  uint64_t generation = ++window_generation_;
  window_timer_.expires_after(std::chrono::seconds(config_.batching_window_s));
  window_timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    // A cancelled wait may already have been queued as a success: the generation tells.
    if (ec || !self->window_armed_ || generation != self->window_generation_) return;
    self->window_armed_ = false;
    self->window_due_ = true;
    self->Pump();
  });
}

void Poller::Pump() {
  if (!enabled_ || stopped_ || paused_) return;
  // A deleted function's mapping stays (as Lambda's does) and leases nothing until a
  // function of that name exists again.
  if (!context_.registry.Find(config_.function)) {
    problem_ = "PROBLEM: Function not found.";
    Pause(context_.options.recheck_ms);
    return;
  }
  int limit = Limit();
  size_t batch_size = size_t(std::max(1, config_.batch_size));
  while (in_flight_ < limit) {
    if (pending_.size() < batch_size) {
      auto leased = context_.engine.Lease(config_.queue, int(batch_size - pending_.size()));
      if (!leased) {
        std::string problem = "PROBLEM: " + leased.error().message();
        // Said once per episode: the poller looks again every recheck_ms.
        if (problem != problem_) spdlog::warn("event source mapping {}: {}", uuid_, problem);
        problem_ = std::move(problem);
        Pause(context_.options.recheck_ms);
        return;
      }
      for (auto& message : *leased) pending_.push_back(std::move(message));
    }
    bool full = pending_.size() >= batch_size;
    bool due = !pending_.empty() && (config_.batching_window_s == 0 || window_due_);
    if (!full && !due) break;
    Dispatch();
    if (paused_) return;
  }
  if (!pending_.empty() && !window_armed_ && !window_due_) ArmWindow();
  if (in_flight_ < limit) Watch();
}

void Poller::Dispatch() {
  std::vector<async::LeasedMessage> messages = std::move(pending_);
  pending_.clear();
  window_timer_.cancel();
  window_armed_ = false;
  window_due_ = false;

  if (!filter_.empty()) {
    // Messages no filter matches are deleted unseen, as Lambda does with SQS sources.
    std::vector<async::LeasedMessage> kept;
    for (auto& leased : messages) {
      if (filter_.Matches(leased, queue_arn_, context_.options.region)) {
        kept.push_back(std::move(leased));
      } else if (auto ok = context_.engine.Ack(config_.queue, leased.receipt); !ok) {
        spdlog::debug("event source mapping {}: ack {}: {}", uuid_, leased.message.id,
                      ok.error().message());
      }
    }
    messages = std::move(kept);
    if (messages.empty()) return;
  }
  std::vector<std::string> receipts;
  for (const auto& leased : messages) receipts.push_back(leased.receipt);
  auto resolved = context_.registry.Resolve(config_.function, config_.qualifier, Pick());
  if (!resolved) {
    problem_ = "PROBLEM: " + resolved.error().message();
    Release(receipts, context_.options.recheck_ms);
    Pause(context_.options.recheck_ms);
    return;
  }
  SqsEvent event = BuildSqsEvent(messages, queue_arn_, context_.options.region);
  if (event.records < messages.size()) {
    // What does not fit in one payload goes in the next batch.
    Release({receipts.begin() + long(event.records), receipts.end()}, 0);
    messages.resize(event.records);
    receipts.resize(event.records);
  }
  Batch batch;
  for (const auto& leased : messages) batch.ids.push_back(leased.message.id);
  batch.receipts = std::move(receipts);

  auto invocation = std::make_unique<scheduler::Invocation>();
  invocation->source = scheduler::InvocationSource::kQueue;
  invocation->request_id = NewRequestId();
  invocation->payload = std::move(event.payload);
  invocation->invoked_arn = "arn:aws:lambda:" + context_.options.region + ":" +
                            context_.options.account_id + ":function:" + config_.function;
  if (!config_.qualifier.empty()) invocation->invoked_arn += ":" + config_.qualifier;
  invocation->config = std::move(resolved->config);
  // The batch rides in the callback; std::function wants it copyable, so it is shared.
  auto shared = std::make_shared<Batch>(std::move(batch));
  invocation->done = [self = shared_from_this(), shared](scheduler::Outcome outcome) {
    self->OnOutcome(*shared, std::move(outcome));
  };
  ++in_flight_;
  context_.invoke(std::move(invocation));
}

void Poller::OnOutcome(const Batch& batch, scheduler::Outcome outcome) {
  --in_flight_;
  if (outcome.error) {
    // Stopping ends environments mid-run: leases end with the daemon, and the batch runs
    // again after the restart.
    if (!stopped_) {
      // Batches refused together back off together: one pause, one step up.
      int64_t delay = paused_ ? backoff_ms_ : NextBackoff();
      if (outcome.error->code() != ErrorCode::kTooManyRequests) {
        spdlog::warn("event source mapping {}: batch of {} not run: {}", uuid_, batch.ids.size(),
                     outcome.error->message());
      }
      Release(batch.receipts, delay);
      Pause(delay);
    }
  } else {
    backoff_ms_ = 0;
    problem_.clear();
    if (!outcome.function_error) {
      if (config_.report_item_failures) {
        std::set<std::string> ids(batch.ids.begin(), batch.ids.end());
        BatchResponse response = ParseBatchResponse(outcome.body, ids);
        if (response.all_failed) {
          spdlog::info("event source mapping {}: unreadable batchItemFailures: the whole batch of {} "
                       "fails",
                       uuid_, batch.ids.size());
        } else {
          AckAll(batch, response.failed);
        }
      } else {
        AckAll(batch, {});
      }
    }
    // A function error leaves every message of the batch leased: each comes back when its
    // visibility timeout ends, as Lambda's do.
  }
  CheckIdle();
  if (enabled_) PostPump();
}

void Poller::AckAll(const Batch& batch, const std::set<std::string>& except) {
  for (size_t i = 0; i < batch.ids.size(); ++i) {
    if (except.contains(batch.ids[i])) continue;
    if (auto ok = context_.engine.Ack(config_.queue, batch.receipts[i]); !ok) {
      // Its lease ended first (the function outran the visibility timeout): it runs again.
      spdlog::debug("event source mapping {}: ack {}: {}", uuid_, batch.ids[i], ok.error().message());
    }
  }
}

void Poller::Release(const std::vector<std::string>& receipts, int64_t delay_ms) {
  for (const auto& receipt : receipts) {
    if (auto ok = context_.engine.ChangeVisibility(config_.queue, receipt, delay_ms); !ok) {
      spdlog::debug("event source mapping {}: release: {}", uuid_, ok.error().message());
    }
  }
}

}  // namespace lambent::esm
