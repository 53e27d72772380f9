#pragma once

#include <string>

#include "api/api_context.h"
#include "http/server.h"

// lambent's own admin resource: the live execution environments of a function, with the
// cold-start breakdown of each. Reads the scheduler: io thread only.
namespace lambent::api {

http::Response ListEnvironments(ApiContext& context, const std::string& function);
// The environments started ahead of demand (scheduler::Prestarter) no function has taken.
http::Response ListPrestarted(ApiContext& context);

}  // namespace lambent::api
