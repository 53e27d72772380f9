#pragma once

#include <optional>
#include <string>

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

namespace lambent::api {

// Lambda's sync payload limit (RequestResponse) and async one (Event).
constexpr uint64_t kSyncPayloadLimit = 6291456;
constexpr uint64_t kAsyncPayloadLimit = 1048576;

// The caller's X-Amzn-Trace-Id, passed on to the runtime when it is a plausible trace header
// (printable, bounded); empty otherwise (the environment makes one).
std::string TraceHeader(const http::Request& request);

// An Invoke request that passed Lambda's checks: its function resolved (a weighted alias's
// pick made), its invocation type and log type valid, its payload JSON.
struct CheckedInvoke {
  registry::ConfigPtr config;
  std::string qualifier;       // as the caller named it, from the path or ?Qualifier
  std::string type;            // RequestResponse or Event (DryRun is answered in the check)
  std::string client_context;  // decoded
  bool tail_log = false;
};
// Checks an Invoke (or, `streaming`, an InvokeWithResponseStream) request; on anything wrong,
// and for a DryRun, answers through `respond` and returns nullopt. An empty payload becomes "{}".
std::optional<CheckedInvoke> CheckInvoke(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
                                         http::Request& request, http::Responder& respond, bool streaming);

// Invoke: validates the request on the io thread and hands it to the scheduler; `respond`
// is called when the function answers. io thread only.
void Invoke(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
            http::Request request, http::Responder respond);

// InvokeWithResponseStream (POST /2021-11-15/functions/{name}/response-streaming-invocations):
// the same checks as Invoke, then a 200 whose body is event-stream messages, a PayloadChunk
// for each piece the function streams (or one for a whole answer) and InvokeComplete with
// the error and log tail, if any. An error before the function starts is a plain one.
void InvokeWithResponseStream(ApiContext& context, const FunctionRef& ref, const RequestTarget& target,
                              http::Request request, http::Responder respond);

// InvokeAsync, Lambda's legacy asynchronous operation (POST /2014-11-13/functions/{name}/
// invoke-async/): stores the event as an Event invoke does and answers 202 {"Status": 202}.
// io thread only.
void InvokeAsync(ApiContext& context, const FunctionRef& ref, http::Request request,
                 http::Responder respond);

}  // namespace lambent::api
