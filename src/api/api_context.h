#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "async/event_sink.h"
#include "code/package_store.h"
#include "registry/registry.h"
#include "runtimes/catalog.h"
#include "scheduler/scheduler.h"
#include "telemetry/log_store.h"

namespace lambent::async {
class EventLog;
}
namespace lambent::metering {
class Ledger;
}
namespace lambent::esm {
class MappingManager;
}
namespace lambent::sqs {
class SqsApi;
}
namespace lambent::permissions {
class PolicyStore;
}
namespace lambent::urls {
class UrlDirectory;
}
namespace lambent::metrics {
class Exporter;
}
namespace lambent::eventbridge {
class EventBridgeApi;
class EventRouter;
}

namespace lambent::api {

// What the API resources work with. Everything here outlives the gateway.
struct ApiContext {
  boost::asio::io_context& io;            // the data path: invocations, the scheduler
  boost::asio::thread_pool& workers;      // the control plane: zips, SQLite
  registry::Registry& registry;           // thread-safe
  code::PackageStore& code;               // thread-safe
  scheduler::Scheduler& scheduler;        // io thread only
  telemetry::LogStore& logs;              // thread-safe
  const runtimes::Catalog& catalog;       // read-only
  std::string region;
  std::string account_id;
  // Held across the account-wide check of a concurrency change and its write, so two
  // reservations made at once cannot together take the unreserved pool below its floor.
  std::mutex concurrency_mutex;
  // Where Event invocations are stored for delivery (io thread only); null: they run from
  // memory, as before durable queues (contexts without a daemon, in tests).
  async::EventSink* events = nullptr;
  // What became of each recent async event (`lambent events`); null: not recorded.
  async::EventLog* event_log = nullptr;
  // The usage ledger (thread-safe; its queries block on SQLite: workers only); null: not served.
  metering::Ledger* usage = nullptr;
  // Event source mappings and their pollers (io thread only); null: not served.
  esm::MappingManager* mappings = nullptr;
  // The SQS-compatible API (io thread only); null: not served.
  sqs::SqsApi* sqs = nullptr;
  // The EventBridge API and its router (io thread only); null: not served.
  eventbridge::EventBridgeApi* eventbridge = nullptr;
  eventbridge::EventRouter* event_router = nullptr;
  // Function URLs' configs (thread-safe); null: not served.
  urls::UrlDirectory* urls = nullptr;
  // Resource-based policies (thread-safe); null: not served.
  permissions::PolicyStore* policies = nullptr;
  // GET /metrics, Prometheus' text format (io thread only); null: not served.
  metrics::Exporter* metrics = nullptr;
  // The dashboard's static files (served at /ui/); empty: not served.
  std::filesystem::path ui_dir;

  std::string FunctionArn(const std::string& name, const std::string& qualifier = {}) const {
    std::string arn = "arn:aws:lambda:" + region + ":" + account_id + ":function:" + name;
    if (!qualifier.empty()) arn += ":" + qualifier;
    return arn;
  }
};

}  // namespace lambent::api
