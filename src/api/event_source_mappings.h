#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// Create/Get/Update/Delete/ListEventSourceMappings: the /2015-03-31/event-source-mappings/
// paths. Answers through `respond`.
void RouteEventSourceMappings(ApiContext& context, const RequestTarget& target, http::Request& request,
                              http::Responder& respond);

}  // namespace lambent::api
