#pragma once

#include <optional>

#include "api/api_context.h"
#include "api/request_target.h"
#include "http/server.h"

// The Lambda "functions" resource: create, read, list, update and delete. Each call is
// blocking (zip extraction, SQLite) and runs on the control-plane workers, never the io
// thread. Thread-safe.
namespace lambent::api {

http::Response CreateFunction(ApiContext& context, const http::Request& request);
// `host` is the Host header the client used: Code.Location points back through it.
http::Response GetFunction(ApiContext& context, const FunctionRef& ref, const std::string& host);
// The uploaded zip of a stored package (Code.Location of GetFunction).
http::Response DownloadCode(ApiContext& context, const std::string& key);
http::Response GetFunctionConfiguration(ApiContext& context, const FunctionRef& ref);
http::Response ListFunctions(ApiContext& context, const RequestTarget& target);
http::Response UpdateFunctionCode(ApiContext& context, const FunctionRef& ref,
                                  const http::Request& request);
http::Response UpdateFunctionConfiguration(ApiContext& context, const FunctionRef& ref,
                                           const http::Request& request);
http::Response DeleteFunction(ApiContext& context, const FunctionRef& ref);

// The answer to a reference naming another region or account than this daemon's, as Lambda
// gives it; nullopt for a reference to this one. Thread-safe.
std::optional<http::Response> RefuseForeignRef(const ApiContext& context, const FunctionRef& ref);

// Parses a request body as a JSON object; on failure the error response to send.
tl::expected<nlohmann::json, http::Response> ParseJsonBody(const http::Request& request);

}  // namespace lambent::api
