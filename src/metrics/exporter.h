#pragma once

#include <boost/asio/thread_pool.hpp>

#include "http/server.h"
#include "metrics/registry.h"

namespace lambent::scheduler {
class Scheduler;
}
namespace lambent::async {
class QueueEngine;
}

namespace lambent::metrics {

// Answers GET /metrics: the scheduler's figures are read on the io thread (the only one
// that may), everything slower (the queues' figures, the serialisation) on `workers`, so a
// scrape holds the io thread for one pass over the pools only.
// Everything given must outlive the exporter; `queues` may be null (no async gauges).
class Exporter {
 public:
  Exporter(Registry& registry, const scheduler::Scheduler& scheduler, async::QueueEngine* queues,
           boost::asio::thread_pool& workers)
      : registry_(registry), scheduler_(scheduler), queues_(queues), workers_(workers) {}

  // io thread only. Answers on a worker, 200 with the text format.
  void Serve(http::Responder respond);
  // GET /lambent/v1/queues (the dashboard's): each function's async queue (depth, oldest
  // event's age) and each SQS-compatible queue (visible, in flight, delayed, oldest age), as
  // JSON. io thread only; answers on a worker. Empty lists without a queue engine.
  void ServeQueues(http::Responder respond);

 private:
  Registry& registry_;
  const scheduler::Scheduler& scheduler_;
  async::QueueEngine* queues_;
  boost::asio::thread_pool& workers_;
};

// Prometheus' text exposition format, as its scrapers ask for it.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace lambent::metrics
