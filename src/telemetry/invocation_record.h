#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lambent::telemetry {

// What one invocation cost and how it ended: what metering and metrics see of it. Made by
// the environment that ran it, as its REPORT line is written.
struct InvocationRecord {
  int64_t end_ms = 0;  // wall clock, epoch milliseconds
  std::string function;
  std::string version;  // "$LATEST" or a number
  std::string request_id;
  std::string trace_id;     // the X-Ray trace header value the runtime was given
  std::string_view source;  // "invoke", "stream", "event", "queue", "url" (static strings)
  double duration_ms = 0;
  int64_t billed_ms = 0;    // Lambda's rounding: every started millisecond
  int memory_mb = 0;
  std::optional<double> init_duration_ms;  // a cold start's init, as its REPORT shows it
  bool provisioned = false;  // ran on a provisioned-concurrency environment
  // "success", "error" (the function failed), "timeout", or "crash" (its runtime died:
  // out of memory, exited)
  std::string_view outcome;
  std::string error_type;  // the error document's errorType, for "error"
  int64_t max_memory_used_mb = 0;
};

// Hears every invocation's end and every throttle. Called on the io thread, after the
// caller has its answer: must not block (queue the work and return).
class InvocationObserver {
 public:
  virtual ~InvocationObserver() = default;
  virtual void OnInvocation(const InvocationRecord& record) = 0;
  // An invocation refused before it ran (no environment was used); `reason` is the
  // throttle's ("ConcurrentInvocationLimitExceeded", ...).
  virtual void OnThrottle(std::string_view function, std::string_view version, std::string_view reason) = 0;
};

// Several observers as one; empty: nothing is told. Set up before the daemon serves.
class InvocationObservers : public InvocationObserver {
 public:
  void Add(InvocationObserver* observer) { observers_.push_back(observer); }
  bool empty() const { return observers_.empty(); }
  void OnInvocation(const InvocationRecord& record) override {
    for (auto* observer : observers_) observer->OnInvocation(record);
  }
  void OnThrottle(std::string_view function, std::string_view version, std::string_view reason) override {
    for (auto* observer : observers_) observer->OnThrottle(function, version, reason);
  }

 private:
  std::vector<InvocationObserver*> observers_;
};

}  // namespace lambent::telemetry
