#pragma once

#include <string>

#include "api/api_context.h"
#include "http/server.h"

// lambent's own admin resource: the live execution environments of a function, with the
// cold-start breakdown of each. Reads the scheduler: io thread only.
namespace lambent::api {

http::Response ListEnvironments(ApiContext& context, const std::string& function);

}  // namespace lambent::api
