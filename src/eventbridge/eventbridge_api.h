#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "eventbridge/event_bus_service.h"
#include "eventbridge/event_router.h"
#include "http/server.h"

namespace lambent::eventbridge {

// The EventBridge API on the daemon's endpoint: the JSON protocol
// (`X-Amz-Target: AWSEvents.<Operation>`, application/x-amz-json-1.1). PutEvents runs on
// the io thread (it hands events to the durable paths); every other operation writes
// SQLite, so it runs on the control-plane workers and then re-arms the schedules.
class EventBridgeApi {
 public:
  EventBridgeApi(boost::asio::io_context& io, boost::asio::thread_pool& workers, EventBusService& service,
                 EventRouter& router);

  static bool Claims(const http::RequestHeader& header);
  // Answers through `respond`; never throws. io thread.
  void Handle(http::Request request, http::Responder respond);

 private:
  boost::asio::io_context& io_;
  boost::asio::thread_pool& workers_;
  EventBusService& service_;
  EventRouter& router_;
};

}  // namespace lambent::eventbridge
