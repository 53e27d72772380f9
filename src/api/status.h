#pragma once

#include "api/api_context.h"
#include "http/server.h"

// lambent's own status resource (GET /lambent/v1/status): what every function and version
// holds and how it is limited, and the host's memory and concurrency. Reads the scheduler:
// io thread only.
namespace lambent::api {

http::Response Status(ApiContext& context);

}  // namespace lambent::api
