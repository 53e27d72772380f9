#include "async/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace lambent::async {

namespace {
constexpr int64_t kFirstRetryDelayMs = 60'000;  // then twice that before the second
}  // namespace

RetryDecision RetryPolicy::Decide(AttemptResult result, const AsyncEvent& event,
                                  int not_run_before, const EventLimits& limits) const {
  RetryDecision decision;
  decision.attempts = event.attempts;
  switch (result) {
    case AttemptResult::kSuccess:
      decision.attempts = event.attempts + 1;
      return decision;
    case AttemptResult::kNotRun: {
      int shift = std::clamp(not_run_before, 0, 30);
      int64_t delay = options_.backoff_initial_ms << shift;
      decision.action = RetryDecision::Action::kRetrySame;
      decision.delay_ms = std::min(delay, options_.backoff_max_ms);
      return decision;
    }
    case AttemptResult::kFunctionError: {
      decision.attempts = event.attempts + 1;
      if (decision.attempts > limits.max_retry_attempts) {
        decision.action = RetryDecision::Action::kDropExhausted;
        return decision;
      }
      decision.action = RetryDecision::Action::kRetryNext;
      double delay =
          double(kFirstRetryDelayMs * decision.attempts) * options_.function_error_delay_scale;
      decision.delay_ms = std::max<int64_t>(0, std::llround(delay));
      return decision;
    }
  }
  return decision;
}

bool RetryPolicy::Expired(const AsyncEvent& event, int64_t now_ms,
                          const EventLimits& limits) const {
  return now_ms - event.first_enqueued_ms > limits.max_event_age_ms;
}

}  // namespace lambent::async
