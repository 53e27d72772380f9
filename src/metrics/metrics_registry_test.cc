#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>

#include "async/async_event.h"
#include "async/sqlite_queue_engine.h"
#include "metrics/registry.h"

namespace lambent::metrics {
namespace {

telemetry::InvocationRecord Record(std::string function, std::string_view outcome = "success",
                                   double duration_ms = 12.0) {
  telemetry::InvocationRecord r;
  r.function = std::move(function);
  r.version = "$LATEST";
  r.source = "invoke";
  r.outcome = outcome;
  r.duration_ms = duration_ms;
  return r;
}

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(Registry, CountsInvocationsBySourceAndErrorsByType) {
  Registry registry;
  registry.OnInvocation(Record("f"));
  registry.OnInvocation(Record("f"));
  auto event = Record("f");
  event.source = "event";
  registry.OnInvocation(event);
  auto failed = Record("f", "error");
  failed.error_type = "TypeError";
  registry.OnInvocation(failed);
  registry.OnInvocation(Record("f", "timeout"));
  auto text = registry.Render({});
  EXPECT_TRUE(Has(text, R"(lambent_invocations_total{function="f",source="invoke",version="$LATEST"} 4)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_invocations_total{function="f",source="event",version="$LATEST"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_errors_total{function="f",type="TypeError",version="$LATEST"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_errors_total{function="f",type="Sandbox.Timedout",version="$LATEST"} 1)")) << text;
  EXPECT_NE(text.find("# HELP lambent_invocations_total"), std::string::npos);
  EXPECT_NE(text.find("(CloudWatch: Invocations)"), std::string::npos);
}

TEST(Registry, CountsThrottlesByReasonAndColdStarts) {
  Registry registry;
  registry.OnThrottle("f", "1", "ReservedFunctionConcurrentInvocationLimitExceeded");
  registry.OnThrottle("f", "1", "ReservedFunctionConcurrentInvocationLimitExceeded");
  auto cold = Record("f");
  cold.init_duration_ms = 120.0;
  registry.OnInvocation(cold);
  auto text = registry.Render({});
  EXPECT_TRUE(Has(
      text,
      R"(lambent_throttles_total{function="f",reason="ReservedFunctionConcurrentInvocationLimitExceeded",version="1"} 2)"))
      << text;
  EXPECT_TRUE(Has(text, R"(lambent_cold_starts_total{function="f",version="$LATEST"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_init_duration_seconds_bucket{function="f",version="$LATEST",le="0.25"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_init_duration_seconds_bucket{function="f",version="$LATEST",le="0.1"} 0)")) << text;
}

TEST(Registry, PutsDurationsInLambdaLikeBuckets) {
  Registry registry;
  registry.OnInvocation(Record("f", "success", 0.4));
  registry.OnInvocation(Record("f", "success", 7.0));
  registry.OnInvocation(Record("f", "success", 2000.0));
  auto text = registry.Render({});
  EXPECT_TRUE(Has(text, R"(lambent_duration_seconds_bucket{function="f",version="$LATEST",le="0.001"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_duration_seconds_bucket{function="f",version="$LATEST",le="0.01"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_duration_seconds_bucket{function="f",version="$LATEST",le="2.5"} 3)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_duration_seconds_bucket{function="f",version="$LATEST",le="+Inf"} 3)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_duration_seconds_count{function="f",version="$LATEST"} 3)")) << text;
  EXPECT_EQ(DurationBucketsMs().back(), 900000);  // Lambda's 15-minute timeout
}

TEST(Registry, FoldsSeriesPastTheCapIntoOther) {
  Registry registry({.max_series = 2, .max_types_per_series = 2});
  registry.OnInvocation(Record("a"));
  registry.OnInvocation(Record("b"));
  registry.OnInvocation(Record("c"));
  registry.OnInvocation(Record("d"));
  registry.OnInvocation(Record("a"));
  for (std::string type : {"E1", "E2", "E3", "E4", "bad \"type\"\n"}) {
    auto failed = Record("a", "error");
    failed.error_type = type;
    registry.OnInvocation(failed);
  }
  auto text = registry.Render({});
  EXPECT_TRUE(Has(text, R"(lambent_invocations_total{function="a",source="invoke",version="$LATEST"} 7)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_invocations_total{function="other",source="invoke",version="other"} 2)")) << text;
  EXPECT_EQ(text.find(R"(function="c")"), std::string::npos) << text;
  EXPECT_TRUE(Has(text, R"(lambent_errors_total{function="a",type="E1",version="$LATEST"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_errors_total{function="a",type="other",version="$LATEST"} 3)")) << text;
  EXPECT_EQ(text.find("bad"), std::string::npos) << text;
}

TEST(Registry, RendersGaugesAndCapsThem) {
  Registry registry({.max_series = 1});
  Gauges gauges;
  gauges.concurrent_executions = 3;
  gauges.concurrency_limit = 1000;
  gauges.versions.push_back({"f", "$LATEST", 2, 1, 0, 0, 0, 0});
  gauges.versions.push_back({"g", "1", 1, 0, 1, 0, 0, 0});
  gauges.versions.push_back({"h", "1", 0, 2, 0, 0, 0, 0});
  gauges.async_queues.push_back({"f", 5, 2500});
  auto text = registry.Render(gauges);
  EXPECT_TRUE(Has(text, R"(lambent_concurrent_executions{function="f",version="$LATEST"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_concurrent_executions{function="other",version="other"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_environments{function="other",state="idle",version="other"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_environments{function="f",state="busy",version="$LATEST"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_async_queue_depth{function="f"} 5)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_async_oldest_event_age_seconds{function="f"} 2.5)")) << text;
  EXPECT_TRUE(Has(text, "lambent_account_concurrent_executions 3")) << text;
}

TEST(Registry, CountsAsyncEventsByTheQualifierTheyWereInvokedWith) {
  Registry registry;
  registry.OnAsyncEventReceived("f", "");
  registry.OnAsyncEventReceived("f", "");
  registry.OnAsyncEventReceived("f", "live");
  registry.OnAsyncEventDropped("f", "", async::DropReason::kEventAgeExceeded);
  registry.OnAsyncEventDropped("f", "live", async::DropReason::kRetriesExhausted);
  registry.OnAsyncEventDropped("f", "live", async::DropReason::kRetriesExhausted);
  registry.OnDeadLetterError("f", "live");
  registry.OnDestinationDeliveryFailure("f", "");
  auto text = registry.Render({});
  EXPECT_TRUE(Has(text, R"(lambent_async_events_received_total{function="f",version="$LATEST"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_async_events_received_total{function="f",version="live"} 1)")) << text;
  EXPECT_TRUE(Has(
      text, R"(lambent_async_events_dropped_total{function="f",reason="event_age_exceeded",version="$LATEST"} 1)"))
      << text;
  EXPECT_TRUE(Has(
      text, R"(lambent_async_events_dropped_total{function="f",reason="retries_exhausted",version="live"} 2)"))
      << text;
  EXPECT_TRUE(Has(text, R"(lambent_dead_letter_errors_total{function="f",version="live"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_destination_delivery_failures_total{function="f",version="$LATEST"} 1)"))
      << text;
  // Counters that never moved have no series: nothing for "live"'s destinations.
  EXPECT_EQ(text.find(R"(lambent_destination_delivery_failures_total{function="f",version="live"})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(CloudWatch: AsyncEventsReceived)"), std::string::npos);
  EXPECT_NE(text.find("(CloudWatch: AsyncEventsDropped)"), std::string::npos);
  EXPECT_NE(text.find("(CloudWatch: DeadLetterErrors)"), std::string::npos);
  EXPECT_NE(text.find("(CloudWatch: DestinationDeliveryFailures)"), std::string::npos);
}

TEST(Registry, CapsAsyncEventSeries) {
  Registry registry({.max_series = 1});
  registry.OnAsyncEventReceived("a", "");
  registry.OnAsyncEventReceived("b", "");
  registry.OnAsyncEventReceived("c", "7");
  auto text = registry.Render({});
  EXPECT_TRUE(Has(text, R"(lambent_async_events_received_total{function="a",version="$LATEST"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(lambent_async_events_received_total{function="other",version="other"} 2)")) << text;
}

TEST(Gauges, TellsFunctionsAsyncQueuesFromSqsQueues) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("lambent-metrics-gauges-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    auto engine = async::SqliteQueueEngine::Open(dir, {.now_ms = [] { return int64_t(1'000'000); }});
    ASSERT_TRUE(engine) << engine.error().message();
    auto& e = **engine;
    ASSERT_TRUE(e.CreateQueue(async::AsyncQueueName("f"), {}));
    ASSERT_TRUE(e.CreateQueue("jobs", {}));
    auto append = [&e](const std::string& queue, int n) {
      std::promise<void> durable;
      std::vector<async::NewMessage> messages(static_cast<size_t>(n));
      for (auto& m : messages) m.body = "x";
      ASSERT_TRUE(e.Append(queue, std::move(messages), {nullptr, [&durable](Result<void>) { durable.set_value(); }}));
      durable.get_future().get();
    };
    append(async::AsyncQueueName("f"), 2);
    append("jobs", 3);
    ASSERT_TRUE(e.Lease("jobs", 1, 60'000));

    Gauges gauges;
    GatherAsyncQueues(e, gauges);
    ASSERT_EQ(gauges.async_queues.size(), 1u);
    EXPECT_EQ(gauges.async_queues[0].function, "f");
    EXPECT_EQ(gauges.async_queues[0].depth, 2);
    auto queues = GatherQueues(e);
    ASSERT_EQ(queues.size(), 1u);
    EXPECT_EQ(queues[0].name, "jobs");
    EXPECT_EQ(queues[0].visible, 2);
    EXPECT_EQ(queues[0].in_flight, 1);
    EXPECT_EQ(queues[0].delayed, 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lambent::metrics
