#include "async/retry_policy.h"

#include <gtest/gtest.h>

#include "async/async_event.h"

namespace lambent::async {
namespace {

using Action = RetryDecision::Action;

constexpr int64_t kStart = 1'700'000'000'000;

AsyncEvent EventWith(int attempts, int64_t first_ms = kStart) {
  AsyncEvent event;
  event.invoked_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  event.attempts = attempts;
  event.first_enqueued_ms = first_ms;
  return event;
}

TEST(RetryPolicyTest, SuccessIsDone) {
  RetryPolicy policy;
  auto decision = policy.Decide(AttemptResult::kSuccess, EventWith(1), 3);
  EXPECT_EQ(decision.action, Action::kDone);
  EXPECT_EQ(decision.attempts, 2);
}

TEST(RetryPolicyTest, FunctionErrorsRetryAfterOneThenTwoMinutesThenDrop) {
  RetryPolicy policy;
  auto first = policy.Decide(AttemptResult::kFunctionError, EventWith(0), 0);
  EXPECT_EQ(first.action, Action::kRetryNext);
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.delay_ms, 60'000);
  auto second = policy.Decide(AttemptResult::kFunctionError, EventWith(1), 0);
  EXPECT_EQ(second.action, Action::kRetryNext);
  EXPECT_EQ(second.attempts, 2);
  EXPECT_EQ(second.delay_ms, 120'000);
  auto third = policy.Decide(AttemptResult::kFunctionError, EventWith(2), 0);
  EXPECT_EQ(third.action, Action::kDropExhausted);
  EXPECT_EQ(third.attempts, 3);
}

TEST(RetryPolicyTest, DelayScaleShortensFunctionErrorRetriesOnly) {
  RetryPolicy policy({.function_error_delay_scale = 0.01});
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(0), 0).delay_ms, 600);
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(1), 0).delay_ms, 1'200);
  EXPECT_EQ(policy.Decide(AttemptResult::kNotRun, EventWith(0), 0).delay_ms, 100);
}

TEST(RetryPolicyTest, MaxRetryAttemptsZeroDropsAtTheFirstError) {
  RetryPolicy policy({.max_retry_attempts = 0});
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(0), 0).action,
            Action::kDropExhausted);
}

TEST(RetryPolicyTest, ThrottlesBackOffDoublingToTheCapWithoutSpendingAnAttempt) {
  RetryPolicy policy;
  const int64_t expected[] = {100, 200, 400, 800, 1'600, 3'200, 5'000, 5'000};
  for (int n = 0; n < 8; ++n) {
    auto decision = policy.Decide(AttemptResult::kNotRun, EventWith(1), n);
    EXPECT_EQ(decision.action, Action::kRetrySame);
    EXPECT_EQ(decision.attempts, 1);
    EXPECT_EQ(decision.delay_ms, expected[n]) << n;
  }
  // A count far past the cap neither overflows nor goes negative.
  EXPECT_EQ(policy.Decide(AttemptResult::kNotRun, EventWith(0), 1'000'000).delay_ms, 5'000);
}

TEST(RetryPolicyTest, EventsExpireAfterTheMaximumAge) {
  RetryPolicy policy;
  AsyncEvent event = EventWith(0, kStart);
  EXPECT_FALSE(policy.Expired(event, kStart));
  EXPECT_FALSE(policy.Expired(event, kStart + 21'600'000));
  EXPECT_TRUE(policy.Expired(event, kStart + 21'600'001));
  RetryPolicy short_lived({.max_event_age_ms = 60'000});
  EXPECT_TRUE(short_lived.Expired(event, kStart + 60'001));
}

TEST(RetryPolicyTest, AnEventsOwnLimitsOverrideTheDefaults) {
  RetryPolicy policy;
  EventLimits one_retry{.max_retry_attempts = 1, .max_event_age_ms = 60'000};
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(0), 0, one_retry).action,
            Action::kRetryNext);
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(1), 0, one_retry).action,
            Action::kDropExhausted);
  // The defaults still allow a second retry.
  EXPECT_EQ(policy.Decide(AttemptResult::kFunctionError, EventWith(1), 0).action,
            Action::kRetryNext);
  AsyncEvent event = EventWith(0, kStart);
  EXPECT_TRUE(policy.Expired(event, kStart + 60'001, one_retry));
  EXPECT_FALSE(policy.Expired(event, kStart + 60'001));
}

TEST(AsyncEventTest, AttributesRoundTrip) {
  AsyncEvent event = EventWith(2, kStart + 5);
  event.qualifier = "live";
  event.client_context = R"({"custom":{"a":"b"}})";
  auto back = AsyncEvent::FromAttributes(event.ToAttributes());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->qualifier, "live");
  EXPECT_EQ(back->invoked_arn, event.invoked_arn);
  EXPECT_EQ(back->client_context, event.client_context);
  EXPECT_EQ(back->attempts, 2);
  EXPECT_EQ(back->first_enqueued_ms, kStart + 5);
}

TEST(AsyncEventTest, ForeignAttributesAreRefused) {
  EXPECT_FALSE(AsyncEvent::FromAttributes(""));
  EXPECT_FALSE(AsyncEvent::FromAttributes("not json"));
  EXPECT_FALSE(AsyncEvent::FromAttributes(R"({"arn":"x"})"));
  EXPECT_FALSE(AsyncEvent::FromAttributes(R"({"arn":1,"attempts":0,"first_ms":0})"));
}

TEST(AsyncEventTest, QueueNamesCannotBeUserQueueNames) {
  EXPECT_EQ(AsyncQueueName("my-fn"), "lambent.async.my-fn");
  EXPECT_EQ(FunctionOfAsyncQueue("lambent.async.my-fn"), "my-fn");
  EXPECT_FALSE(FunctionOfAsyncQueue("lambent.async."));
  EXPECT_FALSE(FunctionOfAsyncQueue("my-queue"));
}

}  // namespace
}  // namespace lambent::async
