#pragma once

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "http/server.h"
#include "telemetry/log_store.h"

namespace lambent::logs {

// What the CloudWatch Logs API works with; all of it outlives the requests.
struct LogsDeps {
  boost::asio::io_context& io;        // timers of the follow polls
  boost::asio::thread_pool& workers;  // every operation reads files: never the io thread
  telemetry::LogStore& store;
  std::string region;
  std::string account_id;
};

// The part of the CloudWatch Logs API (JSON protocol, `X-Amz-Target: Logs_20140328.<Op>`)
// that the AWS CLI's `aws logs tail|filter-log-events|get-log-events|describe-log-groups|
// describe-log-streams` use, over the function logs: the group of function NAME is its
// LoggingConfig.LogGroup or /aws/lambda/NAME (several functions may share a custom one), a
// stream is an execution environment.
bool ClaimsLogsRequest(const http::RequestHeader& header);
// Answers through `respond` from the workers; never throws. io thread.
void HandleLogsRequest(const LogsDeps& deps, http::Request request, http::Responder respond);

// One operation, answered now on the calling thread: the JSON answer, or the CloudWatch
// error ({"__type", "message"}) with its HTTP status. `poll_wait` is set when a follow poll
// found nothing new and should be asked again after a short wait.
struct LogsAnswer {
  unsigned status = 200;
  nlohmann::json body;
  bool poll_wait = false;
};
LogsAnswer CallLogsOperation(const LogsDeps& deps, const std::string& operation, const nlohmann::json& request,
                             bool last_try = true);

}  // namespace lambent::logs
