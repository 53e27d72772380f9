#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "async/event_sink.h"
#include "async/queue_engine.h"
#include "eventbridge/event_bus_service.h"

namespace lambent::eventbridge {

struct RouterOptions {
  std::string region;
  std::string account_id;
  // Multiplies rate() periods: 1 in production; tests make a minute last a fraction of
  // a second. Cron schedules keep the wall clock.
  double rate_scale = 1.0;
  std::function<int64_t()> now_ms;  // epoch ms; empty: the wall clock
};

// The data plane of EventBridge, on the io thread: PutEvents matches each event against
// the rules of its bus, and a timer fires scheduled rules. Each matching target gets its
// input through the durable paths: a function's asynchronous invocation (EventSink) or a
// message on an SQS-compatible queue. Missed firings (the daemon was down, or busy past
// a whole period) are not replayed: a schedule fires once, then at its next time after now.
class EventRouter {
 public:
  EventRouter(boost::asio::io_context& io, EventBusService& service, async::EventSink& sink,
              async::QueueEngine& queues, RouterOptions options);
  EventRouter(const EventRouter&) = delete;
  EventRouter& operator=(const EventRouter&) = delete;
  ~EventRouter();

  // Arms the schedules; call again after any rule change (io thread).
  void Reschedule();
  void Stop();

  // PutEvents: answers once every matched target's input is stored (or failed).
  void PutEvents(const nlohmann::json& request, std::function<void(nlohmann::json)> done);

  // Every rule of every bus, with its targets' ARNs and a schedule's next `count` firing
  // times (for `lambent rules` and the admin API).
  nlohmann::json Rules(int count) const;

 private:
  struct Pending;
  void Fire(const CompiledRule& rule, int64_t scheduled_ms);
  // Delivers `input` to `target`; `stored` gets whether it was kept.
  void Deliver(const Target& target, std::string input, std::function<void(bool, std::string)> stored);
  void Route(const nlohmann::json& event, const std::string& bus, std::shared_ptr<Pending> pending);
  std::optional<int64_t> NextFiring(const CompiledRule& rule, int64_t after_ms) const;
  void OnTimer();
  int64_t Now() const;

  boost::asio::io_context& io_;
  EventBusService& service_;
  async::EventSink& sink_;
  async::QueueEngine& queues_;
  RouterOptions options_;
  boost::asio::steady_timer timer_;
  std::map<std::string, int64_t> next_;  // rule ARN -> next firing, epoch ms
  bool stopped_ = false;
};

// "2026-12-01T12:00:00Z": EventBridge's time format.
std::string IsoTime(int64_t epoch_ms);

}  // namespace lambent::eventbridge
