#include "metrics/exporter.h"

#include <exception>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "base/json.h"

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

void Exporter::ServeQueues(http::Responder respond) {
  boost::asio::post(workers_, [this, respond = std::move(respond)]() mutable {
    http::Response response;
    try {
      Gauges gauges;
      std::vector<QueueGauges> queues;
      if (queues_) {
        GatherAsyncQueues(*queues_, gauges);
        queues = GatherQueues(*queues_);
      }
      nlohmann::json async_list = nlohmann::json::array();
      for (const auto& q : gauges.async_queues) {
        async_list.push_back({{"function", q.function}, {"depth", q.depth}, {"oldest_age_ms", q.oldest_age_ms}});
      }
      nlohmann::json queue_list = nlohmann::json::array();
      for (const auto& q : queues) {
        queue_list.push_back({{"name", q.name},
                              {"visible", q.visible},
                              {"in_flight", q.in_flight},
                              {"delayed", q.delayed},
                              {"oldest_age_ms", q.oldest_age_ms}});
      }
      response = http::MakeResponse(
          200, DumpJson(nlohmann::json{{"async_queues", std::move(async_list)}, {"queues", std::move(queue_list)}}));
    } catch (const std::exception& e) {
      spdlog::error("GET /lambent/v1/queues: {}", e.what());
      response = http::MakeResponse(500, "internal error\n", "text/plain; charset=utf-8");
    }
    respond(std::move(response));
  });
}

}  // namespace lambent::metrics
