#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace lambent::metrics
