#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// Create/Get/Update/Delete/ListFunctionUrlConfigs: the /2021-10-31/functions/{name}/url and
// .../urls paths. Answers through `respond` (from the workers: the configs are in SQLite).
void RouteFunctionUrlConfig(ApiContext& context, const RequestTarget& target, const FunctionRef& ref,
                            http::Request& request, http::Responder& respond);

// Whether a request is for a function URL: by its Host (`<url-id>.lambda-url.<region>.<any
// suffix>`, so `*.localhost` works in a browser) or by the path form for plain curl use,
// `/lambda-url/<url-id>/<path>`.
bool IsFunctionUrlRequest(const http::RequestHeader& header);
// Runs the function behind the URL with the request as a payload 2.0 event and answers with
// what it returns, as Lambda does; CORS preflights are answered without running it. io
// thread only.
void ServeFunctionUrl(ApiContext& context, http::Request request, http::Responder respond);

}  // namespace lambent::api
