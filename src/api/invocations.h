#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// Lambda's sync payload limit (RequestResponse) and async one (Event).
constexpr uint64_t kSyncPayloadLimit = 6291456;
constexpr uint64_t kAsyncPayloadLimit = 1048576;

// Invoke: validates the request on the io thread and hands it to the scheduler; `respond`
// is called when the function answers. io thread only.
void Invoke(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
            http::Request request, http::Responder respond);

// InvokeAsync, Lambda's legacy asynchronous operation (POST /2014-11-13/functions/{name}/
// invoke-async/): stores the event as an Event invoke does and answers 202 {"Status": 202}.
// io thread only.
void InvokeAsync(ApiContext& context, const FunctionRef& ref, http::Request request,
                 http::Responder respond);

}  // namespace lambent::api
