#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

// The Lambda "versions" resource: PublishVersion and ListVersionsByFunction. Blocking
// (SQLite): run on the control-plane workers. Thread-safe.
namespace lambent::api {

http::Response PublishVersion(ApiContext& context, const FunctionRef& ref,
                              const http::Request& request);
http::Response ListVersionsByFunction(ApiContext& context, const FunctionRef& ref,
                                      const RequestTarget& target);

}  // namespace lambent::api
