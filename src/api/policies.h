#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// AddPermission, GetPolicy and RemovePermission: the /2015-03-31/functions/{name}/policy
// paths, with ?Qualifier= and ?RevisionId=. Answers through `respond` (from the workers).
void RoutePolicy(ApiContext& context, const RequestTarget& target, const FunctionRef& ref, http::Request& request,
                 http::Responder& respond);

}  // namespace lambent::api
