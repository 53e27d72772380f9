#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "async/async_event_observer.h"
#include "metrics/gauges.h"
#include "telemetry/invocation_record.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

// Prometheus metrics of the daemon (GET /metrics), named after what Lambda reports to
// CloudWatch where there is a counterpart (the HELP text of each names it).
//
// Built on prometheus-cpp's core library (Debian's prometheus-cpp-dev): its counters and
// histograms are lock-free or one uncontended mutex per observation, and its TextSerializer
// writes the exposition format without its own HTTP server (the gateway serves the text).
// Its label lookup (a std::map per call, hashed under the family's mutex) is too slow for
// the io thread, so each function version's instruments are looked up once and kept here.
namespace lambent::metrics {

struct RegistryOptions {
  // Distinct (function, version) series kept; calls of any other version are counted under
  // function="other", version="other", so a daemon with many functions cannot grow the
  // scrape without bound. The same cap holds for the gauges of each scrape.
  size_t max_series = 1000;
  // Distinct error types (and throttle reasons) per series; more fold into "other".
  size_t max_types_per_series = 20;
};

// Counts invocations, errors, throttles, cold starts and durations as the environments
// report them, and what becomes of async events as the async invoker reports it, and renders
// them with the gauges read at scrape time.
// Thread-safe: the observer methods (from the io thread) take a short mutex of their own;
// Render may run on any thread at the same time.
class Registry : public telemetry::InvocationObserver, public async::AsyncEventObserver {
 public:
  explicit Registry(RegistryOptions options = {});
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void OnInvocation(const telemetry::InvocationRecord& record) override;
  void OnThrottle(std::string_view function, std::string_view version, std::string_view reason) override;

  // Async events are counted per function and the qualifier they were invoked with (the
  // "version" label: $LATEST, a number or an alias name), as Lambda's Resource dimension.
  void OnAsyncEventReceived(std::string_view function, std::string_view qualifier) override;
  void OnAsyncEventDropped(std::string_view function, std::string_view qualifier,
                           async::DropReason reason) override;
  void OnDeadLetterError(std::string_view function, std::string_view qualifier) override;
  void OnDestinationDeliveryFailure(std::string_view function, std::string_view qualifier) override;

  // The text exposition format (version 0.0.4) of every counter and histogram and of
  // `gauges`. Serialises under the library's locks only: call it off the io thread.
  std::string Render(const Gauges& gauges) const;

  const RegistryOptions& options() const { return options_; }

 private:
  struct Series;
  struct AsyncSeries;
  Series& SeriesFor(std::string_view function, std::string_view version);
  AsyncSeries& AsyncSeriesFor(std::string_view function, std::string_view qualifier);
  prometheus::Counter& Typed(Series& series, bool throttle, std::string_view type);

  RegistryOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* invocations_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Counter>* throttles_;
  prometheus::Family<prometheus::Counter>* cold_starts_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Histogram>* init_duration_;
  prometheus::Family<prometheus::Counter>* async_received_;
  prometheus::Family<prometheus::Counter>* async_dropped_;
  prometheus::Family<prometheus::Counter>* dead_letter_errors_;
  prometheus::Family<prometheus::Counter>* destination_failures_;

  std::mutex mutex_;
  // By "function\0version"; never shrinks (a deleted function's counters stay, as
  // Prometheus expects of counters). Holds at most max_series + 1 entries.
  std::unordered_map<std::string, std::unique_ptr<Series>> series_;  // GUARDED_BY(mutex_)
  // The same for async events, capped alike (max_series + 1).
  std::unordered_map<std::string, std::unique_ptr<AsyncSeries>> async_series_;  // GUARDED_BY(mutex_)
};

// Lambda-like bucket bounds (ms) of the duration histograms: from a millisecond to the
// 15-minute timeout.
const std::vector<double>& DurationBucketsMs();
const std::vector<double>& InitDurationBucketsMs();

}  // namespace lambent::metrics
