#pragma once

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

// The Lambda "aliases" resource: Create, Get, Update, Delete and ListAliases. Blocking
// (SQLite): run on the control-plane workers. Thread-safe.
namespace lambent::api {

http::Response CreateAlias(ApiContext& context, const FunctionRef& ref,
                           const http::Request& request);
http::Response GetAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias);
http::Response UpdateAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias,
                           const http::Request& request);
// Lambda's DeleteAlias takes no RevisionId; lambent honours one given as a query parameter.
http::Response DeleteAlias(ApiContext& context, const FunctionRef& ref, const std::string& alias,
                           const RequestTarget& target);
http::Response ListAliases(ApiContext& context, const FunctionRef& ref,
                           const RequestTarget& target);

}  // namespace lambent::api
