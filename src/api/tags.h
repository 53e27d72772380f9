#pragma once

#include <string>

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

// The Lambda "tags" resource (/2017-03-31/tags/{ARN}): ListTags, TagResource and
// UntagResource on a function's unqualified ARN. Blocking (SQLite): run on the control-plane
// workers. Thread-safe.
namespace lambent::api {

http::Response ListTags(ApiContext& context, const std::string& arn);
http::Response TagResource(ApiContext& context, const std::string& arn,
                           const http::Request& request);
http::Response UntagResource(ApiContext& context, const std::string& arn,
                             const RequestTarget& target);

}  // namespace lambent::api
