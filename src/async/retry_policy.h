#pragma once

#include <cstdint>
#include <string>

#include "async/async_event.h"

namespace lambent::async {

struct RetryPolicyOptions {
  // Lambda's MaximumRetryAttempts (0-2): function errors and timeouts are retried this many
  // times, so an event runs at most this plus one times.
  int max_retry_attempts = 2;
  // Lambda's MaximumEventAgeInSeconds default (6 h): older events are dropped, not run.
  int64_t max_event_age_ms = 21'600'000;
  // Lambda waits about 1 minute before the first retry of a function error, 2 before the
  // second; this scales both (tests run them in a fraction of a second).
  double function_error_delay_scale = 1.0;
  // Throttles and platform failures are retried sooner, doubling from here up to the max,
  // and do not spend an attempt: the function did not run.
  int64_t backoff_initial_ms = 100;
  int64_t backoff_max_ms = 5'000;
};

// How an attempt ended, as far as retrying goes.
enum class AttemptResult {
  kSuccess,
  kFunctionError,  // the function failed or timed out: an attempt is spent
  kNotRun,         // throttled, or the platform failed: no attempt spent
};

struct RetryDecision {
  enum class Action {
    kDone,           // acknowledge: success
    kRetrySame,      // retry after delay_ms with the same attempt count
    kRetryNext,      // retry after delay_ms counting one more attempt (event.attempts + 1)
    kDropExhausted,  // the last attempt failed: drop (destinations will take it)
  };
  Action action = Action::kDone;
  int64_t delay_ms = 0;
  int attempts = 0;  // attempts spent once this decision is carried out
};

// The limits of one event: its qualifier's event invoke config, or the defaults.
struct EventLimits {
  int max_retry_attempts = 2;
  int64_t max_event_age_ms = 21'600'000;
};

// What happens to an async event after each attempt: pure, clock passed in, so that the
// rules are tested without a daemon.
class RetryPolicy {
 public:
  explicit RetryPolicy(RetryPolicyOptions options = {}) : options_(options) {}

  // `not_run_before`: how many times this event was already retried without running
  // (throttles in a row), which sets the backoff. `limits`: the event's own (its
  // qualifier's config); without, the options'.
  RetryDecision Decide(AttemptResult result, const AsyncEvent& event, int not_run_before) const {
    return Decide(result, event, not_run_before, DefaultLimits());
  }
  RetryDecision Decide(AttemptResult result, const AsyncEvent& event, int not_run_before,
                       const EventLimits& limits) const;
  // Whether the event is too old to run at `now_ms` (it is then dropped).
  bool Expired(const AsyncEvent& event, int64_t now_ms) const {
    return Expired(event, now_ms, DefaultLimits());
  }
  bool Expired(const AsyncEvent& event, int64_t now_ms, const EventLimits& limits) const;

  EventLimits DefaultLimits() const {
    return {options_.max_retry_attempts, options_.max_event_age_ms};
  }

  const RetryPolicyOptions& options() const { return options_; }

 private:
  RetryPolicyOptions options_;
};

}  // namespace lambent::async
