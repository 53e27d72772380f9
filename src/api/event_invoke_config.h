#pragma once

#include <string>

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// Put/Get/Update/Delete/ListFunctionEventInvokeConfigs: the /2019-09-25/functions/{name}/
// event-invoke-config[/list] paths, per function and qualifier. Answers through `respond`.
void RouteEventInvokeConfig(ApiContext& context, const RequestTarget& target, const FunctionRef& ref,
                            http::Request& request, http::Responder& respond);

// GET /lambent/v1/functions/{name}/events: the function's recent asynchronous events and
// their fate (state, attempts, last error, timestamps), newest first.
void ListAsyncEvents(ApiContext& context, const RequestTarget& target, const std::string& function,
                     http::Responder& respond);

}  // namespace lambent::api
