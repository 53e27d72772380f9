#include "metrics/exporter.h"

#include <exception>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace lambent::metrics {

void Exporter::Serve(http::Responder respond) {
  Gauges gauges;
  GatherScheduler(scheduler_, gauges);
  boost::asio::post(workers_, [this, gauges = std::move(gauges), respond = std::move(respond)]() mutable {
    http::Response response;
    try {
      if (queues_) GatherAsyncQueues(*queues_, gauges);
      response = http::MakeResponse(200, registry_.Render(gauges), kContentType);
    } catch (const std::exception& e) {
      // A failed scrape costs that scrape only.
      spdlog::error("GET /metrics: {}", e.what());
      response = http::MakeResponse(500, "internal error\n", "text/plain; charset=utf-8");
    }
    respond(std::move(response));
  });
}

}  // namespace lambent::metrics
