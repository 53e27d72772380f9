#include "metrics/registry.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace lambent::metrics {

namespace {

constexpr std::string_view kOther = "other";
// Prometheus' convention (and promtool's lint) is base units: durations are in seconds,
// with bounds at Lambda's scale (1 ms billing granularity, 15-minute timeout).
constexpr double kMsPerSecond = 1000.0;

// An errorType or throttle reason becomes a label value only when it looks like one
// (Lambda's are identifiers such as "Runtime.ExitError" or "TypeError"): a function may
// put anything in its error document, and a label must stay short and printable.
bool IsPlainType(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == ':';
  });
}

// The error type an invocation counts under: the function's own, or the platform's name
// for how it ended when the runtime reported none.
std::string_view ErrorTypeOf(const telemetry::InvocationRecord& record) {
  if (!record.error_type.empty()) return record.error_type;
  if (record.outcome == "timeout") return "Sandbox.Timedout";
  if (record.outcome == "crash") return "Runtime.ExitError";
  return "Unhandled";
}

prometheus::Histogram::BucketBoundaries Seconds(const std::vector<double>& ms) {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double m : ms) bounds.push_back(m / kMsPerSecond);
  return bounds;
}

using Labels = std::map<std::string, std::string>;

prometheus::ClientMetric Sample(double value, Labels labels) {
  prometheus::ClientMetric metric;
  for (auto& [name, v] : labels) metric.label.push_back({name, std::move(v)});
  metric.gauge.value = value;
  return metric;
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help) {
  return {std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
}

// Keeps the first `cap` keys (in `keys`' order) and folds the rest into "other", summing.
template <typename Row, typename Key, typename Add>
std::vector<Row> Capped(const std::vector<Row>& rows, size_t cap, Key key, Add add) {
  std::vector<Row> kept;
  std::map<std::string, size_t> index;
  std::optional<Row> other;
  for (const auto& row : rows) {
    std::string k = key(row);
    if (auto it = index.find(k); it != index.end()) {
      add(kept[it->second], row);
    } else if (index.size() < cap) {
      index.emplace(std::move(k), kept.size());
      kept.push_back(row);
    } else if (!other) {
      other = row;
    } else {
      add(*other, row);
    }
  }
  if (other) kept.push_back(std::move(*other));
  return kept;
}

}  // namespace

const std::vector<double>& DurationBucketsMs() {
  static const std::vector<double> buckets{1,    5,    10,   25,    50,    100,   250,    500,
                                           1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000};
  return buckets;
}

const std::vector<double>& InitDurationBucketsMs() {
  static const std::vector<double> buckets{10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
  return buckets;
}

// One function qualifier's async event counters, made when first needed.
struct Registry::AsyncSeries {
  std::string function;
  std::string version;
  prometheus::Counter* received = nullptr;
  prometheus::Counter* dead_letter_errors = nullptr;
  prometheus::Counter* destination_failures = nullptr;
  std::array<prometheus::Counter*, 3> dropped{};  // by DropReason
};

// One function version's instruments, looked up once. The pointers are the library's,
// alive as long as registry_.
struct Registry::Series {
  std::string function;
  std::string version;
  std::vector<std::pair<std::string, prometheus::Counter*>> invocations;  // by source
  std::vector<std::pair<std::string, prometheus::Counter*>> errors;       // by type
  std::vector<std::pair<std::string, prometheus::Counter*>> throttles;    // by reason
  prometheus::Counter* cold_starts = nullptr;
  prometheus::Histogram* duration = nullptr;
  prometheus::Histogram* init_duration = nullptr;
};

Registry::Registry(RegistryOptions options) : options_(options), registry_(std::make_shared<prometheus::Registry>()) {
  invocations_ = &prometheus::BuildCounter()
                      .Name("lambent_invocations_total")
                      .Help(
                          "Invocations that ran, errors included, by source: invoke, stream, event, queue, url "
                          "(CloudWatch: Invocations)")
                      .Register(*registry_);
  errors_ = &prometheus::BuildCounter()
                 .Name("lambent_errors_total")
                 .Help(
                     "Invocations that ended in a function error, a timeout or a runtime crash, by errorType "
                     "(CloudWatch: Errors)")
                 .Register(*registry_);
  throttles_ = &prometheus::BuildCounter()
                    .Name("lambent_throttles_total")
                    .Help("Invocation requests refused before they ran, by reason (CloudWatch: Throttles)")
                    .Register(*registry_);
  cold_starts_ = &prometheus::BuildCounter()
                      .Name("lambent_cold_starts_total")
                      .Help(
                          "Invocations that started a new environment (no CloudWatch metric: the REPORT lines "
                          "with an Init Duration)")
                      .Register(*registry_);
  duration_ = &prometheus::BuildHistogram()
                   .Name("lambent_duration_seconds")
                   .Help("How long the function ran, per invocation (CloudWatch: Duration, in milliseconds there)")
                   .Register(*registry_);
  init_duration_ = &prometheus::BuildHistogram()
                        .Name("lambent_init_duration_seconds")
                        .Help("A cold start's init phase (no CloudWatch metric: the REPORT line's Init Duration)")
                        .Register(*registry_);
  async_received_ = &prometheus::BuildCounter()
                         .Name("lambent_async_events_received_total")
                         .Help(
                             "Async invocation events stored for the function, by the qualifier they were invoked "
                             "with (CloudWatch: AsyncEventsReceived)")
                         .Register(*registry_);
  async_dropped_ = &prometheus::BuildCounter()
                        .Name("lambent_async_events_dropped_total")
                        .Help(
                            "Async events that ended without a successful run, by reason: retries_exhausted, "
                            "event_age_exceeded, unrunnable; counted also when then sent to an OnFailure "
                            "destination or dead-letter queue (CloudWatch: AsyncEventsDropped)")
                        .Register(*registry_);
  dead_letter_errors_ = &prometheus::BuildCounter()
                             .Name("lambent_dead_letter_errors_total")
                             .Help(
                                 "Failed events that could not be sent to the version's dead-letter queue "
                                 "(CloudWatch: DeadLetterErrors)")
                             .Register(*registry_);
  destination_failures_ = &prometheus::BuildCounter()
                               .Name("lambent_destination_delivery_failures_total")
                               .Help(
                                   "Invocation records that could not be sent to their OnSuccess or OnFailure "
                                   "destination (CloudWatch: DestinationDeliveryFailures). IteratorAge has no "
                                   "counterpart: event source mappings read SQS queues only, not streams")
                               .Register(*registry_);
}

Registry::~Registry() = default;

Registry::Series& Registry::SeriesFor(std::string_view function, std::string_view version) {
  std::string key;
  key.reserve(function.size() + version.size() + 1);
  key.append(function).push_back('\0');
  key.append(version);
  if (auto it = series_.find(key); it != series_.end()) return *it->second;
  if (series_.size() >= options_.max_series) {
    key.assign(kOther).push_back('\0');
    key.append(kOther);
    if (auto it = series_.find(key); it != series_.end()) return *it->second;
    function = kOther;
    version = kOther;
  }
  auto series = std::make_unique<Series>();
  series->function = function;
  series->version = version;
  Labels labels{{"function", series->function}, {"version", series->version}};
  series->cold_starts = &cold_starts_->Add(labels);
  series->duration = &duration_->Add(labels, Seconds(DurationBucketsMs()));
  series->init_duration = &init_duration_->Add(labels, Seconds(InitDurationBucketsMs()));
  return *series_.emplace(std::move(key), std::move(series)).first->second;
}

prometheus::Counter& Registry::Typed(Series& series, bool throttle, std::string_view type) {
  auto& list = throttle ? series.throttles : series.errors;
  if (!IsPlainType(type)) type = kOther;
  for (auto& [name, counter] : list) {
    if (name == type) return *counter;
  }
  if (list.size() >= options_.max_types_per_series && type != kOther) return Typed(series, throttle, kOther);
  auto* family = throttle ? throttles_ : errors_;
  auto& counter = family->Add(
      {{"function", series.function}, {"version", series.version}, {throttle ? "reason" : "type", std::string(type)}});
  list.emplace_back(type, &counter);
  return counter;
}

void Registry::OnInvocation(const telemetry::InvocationRecord& record) {
  std::lock_guard lock(mutex_);
  auto& series = SeriesFor(record.function, record.version);
  prometheus::Counter* invocations = nullptr;
  for (auto& [source, counter] : series.invocations) {
    if (source == record.source) invocations = counter;
  }
  if (!invocations) {
    // Sources are a handful of static names: the list stays short.
    invocations = &invocations_->Add(
        {{"function", series.function}, {"version", series.version}, {"source", std::string(record.source)}});
    series.invocations.emplace_back(record.source, invocations);
  }
  invocations->Increment();
  if (record.outcome != "success") Typed(series, false, ErrorTypeOf(record)).Increment();
  series.duration->Observe(record.duration_ms / kMsPerSecond);
  if (record.init_duration_ms) {
    series.cold_starts->Increment();
    series.init_duration->Observe(*record.init_duration_ms / kMsPerSecond);
  }
}

Registry::AsyncSeries& Registry::AsyncSeriesFor(std::string_view function, std::string_view qualifier) {
  if (qualifier.empty()) qualifier = "$LATEST";
  std::string key;
  key.reserve(function.size() + qualifier.size() + 1);
  key.append(function).push_back('\0');
  key.append(qualifier);
  if (auto it = async_series_.find(key); it != async_series_.end()) return *it->second;
  if (async_series_.size() >= options_.max_series) {
    key.assign(kOther).push_back('\0');
    key.append(kOther);
    if (auto it = async_series_.find(key); it != async_series_.end()) return *it->second;
    function = kOther;
    qualifier = kOther;
  }
  auto series = std::make_unique<AsyncSeries>();
  series->function = function;
  series->version = qualifier;
  return *async_series_.emplace(std::move(key), std::move(series)).first->second;
}

namespace {

// The counter `slot` holds, made in `family` under the series' labels the first time: a
// function that never fails a delivery shows no series for it.
prometheus::Counter& Lazy(prometheus::Counter*& slot, prometheus::Family<prometheus::Counter>& family,
                          const std::string& function, const std::string& version, Labels extra = {}) {
  if (!slot) {
    extra.emplace("function", function);
    extra.emplace("version", version);
    slot = &family.Add(extra);
  }
  return *slot;
}

const char* DropReasonLabel(async::DropReason reason) {
  switch (reason) {
    case async::DropReason::kRetriesExhausted:
      return "retries_exhausted";
    case async::DropReason::kEventAgeExceeded:
      return "event_age_exceeded";
    case async::DropReason::kUnrunnable:
      return "unrunnable";
  }
  return "unrunnable";
}

}  // namespace

void Registry::OnAsyncEventReceived(std::string_view function, std::string_view qualifier) {
  std::lock_guard lock(mutex_);
  auto& series = AsyncSeriesFor(function, qualifier);
  Lazy(series.received, *async_received_, series.function, series.version).Increment();
}

void Registry::OnAsyncEventDropped(std::string_view function, std::string_view qualifier,
                                   async::DropReason reason) {
  std::lock_guard lock(mutex_);
  auto& series = AsyncSeriesFor(function, qualifier);
  size_t index = size_t(reason) < series.dropped.size() ? size_t(reason) : series.dropped.size() - 1;
  Lazy(series.dropped[index], *async_dropped_, series.function, series.version,
       {{"reason", DropReasonLabel(reason)}})
      .Increment();
}

void Registry::OnDeadLetterError(std::string_view function, std::string_view qualifier) {
  std::lock_guard lock(mutex_);
  auto& series = AsyncSeriesFor(function, qualifier);
  Lazy(series.dead_letter_errors, *dead_letter_errors_, series.function, series.version).Increment();
}

void Registry::OnDestinationDeliveryFailure(std::string_view function, std::string_view qualifier) {
  std::lock_guard lock(mutex_);
  auto& series = AsyncSeriesFor(function, qualifier);
  Lazy(series.destination_failures, *destination_failures_, series.function, series.version).Increment();
}

void Registry::OnThrottle(std::string_view function, std::string_view version, std::string_view reason) {
  std::lock_guard lock(mutex_);
  Typed(SeriesFor(function, version), true, reason).Increment();
}

std::string Registry::Render(const Gauges& gauges) const {
  auto families = registry_->Collect();
  size_t cap = options_.max_series;

  auto versions = Capped(
      gauges.versions, cap, [](const VersionGauges& v) { return v.function + '\0' + v.version; },
      [](VersionGauges& into, const VersionGauges& v) {
        into.busy += v.busy;
        into.idle += v.idle;
        into.starting += v.starting;
        into.provisioned += v.provisioned;
        into.provisioned_idle += v.provisioned_idle;
        into.queued += v.queued;
      });
  if (versions.size() > cap) versions.back().function = versions.back().version = kOther;
  auto concurrent = GaugeFamily("lambent_concurrent_executions",
                                "Invocations of the version running now (CloudWatch: ConcurrentExecutions, "
                                "by function)");
  auto environments = GaugeFamily("lambent_environments",
                                  "Live environments of the version by state: busy (running, provisioned ones "
                                  "too), idle (on-demand, warm), provisioned_idle, starting (no CloudWatch metric)");
  auto provisioned = GaugeFamily("lambent_provisioned_environments",
                                 "Provisioned-concurrency environments allocated, busy or not (CloudWatch: "
                                 "ProvisionedConcurrencyUtilization = provisioned_concurrent_executions / this)");
  auto provisioned_busy = GaugeFamily("lambent_provisioned_concurrent_executions",
                                      "Invocations running on provisioned environments now (CloudWatch: "
                                      "ProvisionedConcurrentExecutions)");
  auto queued = GaugeFamily("lambent_queued_invocations",
                            "Calls waiting for an environment of the version (no CloudWatch metric)");
  for (const auto& v : versions) {
    Labels labels{{"function", v.function}, {"version", v.version}};
    concurrent.metric.push_back(Sample(double(v.busy), labels));
    auto with_state = [&labels](const char* state) {
      Labels l = labels;
      l["state"] = state;
      return l;
    };
    environments.metric.push_back(Sample(double(v.busy), with_state("busy")));
    environments.metric.push_back(Sample(double(v.idle), with_state("idle")));
    environments.metric.push_back(Sample(double(v.provisioned_idle), with_state("provisioned_idle")));
    environments.metric.push_back(Sample(double(v.starting), with_state("starting")));
    if (v.provisioned > 0) {
      provisioned.metric.push_back(Sample(double(v.provisioned), labels));
      provisioned_busy.metric.push_back(
          Sample(double(std::max<int64_t>(0, v.provisioned - v.provisioned_idle)), labels));
    }
    queued.metric.push_back(Sample(double(v.queued), labels));
  }

  auto queues = Capped(
      gauges.async_queues, cap, [](const AsyncQueueGauges& q) { return q.function; },
      [](AsyncQueueGauges& into, const AsyncQueueGauges& q) {
        into.depth += q.depth;
        into.oldest_age_ms = std::max(into.oldest_age_ms, q.oldest_age_ms);
      });
  if (queues.size() > cap) queues.back().function = kOther;
  auto depth = GaugeFamily("lambent_async_queue_depth",
                           "Async events of the function stored and not yet done: ready, running or waiting out "
                           "a retry (no CloudWatch metric; AsyncEventsReceived counts them in)");
  auto age = GaugeFamily("lambent_async_oldest_event_age_seconds",
                         "Age of the function's oldest stored async event (CloudWatch: AsyncEventAge, there "
                         "per event when it is run)");
  for (const auto& q : queues) {
    depth.metric.push_back(Sample(double(q.depth), {{"function", q.function}}));
    age.metric.push_back(Sample(double(q.oldest_age_ms) / kMsPerSecond, {{"function", q.function}}));
  }

  auto account = GaugeFamily("lambent_account_concurrent_executions",
                             "Invocations running now on this daemon (CloudWatch: ConcurrentExecutions, "
                             "account-wide)");
  account.metric.push_back(Sample(double(gauges.concurrent_executions), {}));
  auto limit = GaugeFamily("lambent_account_concurrency_limit",
                           "The daemon's concurrency limit (Lambda: the account's ConcurrentExecutions quota)");
  limit.metric.push_back(Sample(double(gauges.concurrency_limit), {}));
  auto all = GaugeFamily("lambent_live_environments",
                         "Every live environment, prestarted ones included (no CloudWatch metric)");
  all.metric.push_back(Sample(double(gauges.environments), {}));

  for (auto* family :
       {&concurrent, &environments, &provisioned, &provisioned_busy, &queued, &depth, &age, &account, &limit, &all}) {
    // A family without samples would be a HELP and TYPE line with nothing under them.
    if (!family->metric.empty()) families.push_back(std::move(*family));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace lambent::metrics
