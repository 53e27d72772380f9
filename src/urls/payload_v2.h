#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"
#include "urls/url_config.h"

namespace lambent::urls {

// What a function URL's event says about where a request came from.
struct RequestContext {
  std::string url_id;
  std::string domain;  // the Host the client used, without the port
  std::string account_id;
  std::string request_id;
  std::string source_ip;
  int64_t now_ms = 0;
};

// The request as Lambda's payload format 2.0 event: rawPath, rawQueryString, cookies,
// lower-cased headers with repeated ones joined by commas, queryStringParameters (decoded,
// repeated ones joined), requestContext, and the body (base64 unless it is text).
// `raw_path` is the path the function sees (the path form's prefix removed).
std::string BuildEvent(const http::Request& request, std::string_view raw_path, const RequestContext& context);

// The HTTP response for what the function returned: a {"statusCode": ...} object gives the
// status, headers, multiValueHeaders, cookies, body and isBase64Encoded; any other JSON
// value is a 200 application/json body. A function error or a malformed response is 502.
http::Response ResultToResponse(std::string_view result, bool function_error);

// What a streamed response to a function URL begins with when its content type is
// kHttpIntegrationType: a JSON prelude, then kPreludeSeparator, then the body.
inline constexpr std::string_view kHttpIntegrationType = "application/vnd.awslambda.http-integration-response";
inline constexpr std::string_view kPreludeSeparator{"\0\0\0\0\0\0\0\0", 8};
// The status, headers and cookies of such a prelude ({"statusCode":..,"headers":{..},
// "cookies":[..]}, all optional) as a response with an empty body; nullopt when it is not one.
std::optional<http::Response> PreludeToResponse(std::string_view prelude);

// The answer to a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method),
// made from the config alone; nullopt when `request` is not one.
std::optional<http::Response> Preflight(const std::optional<Cors>& cors, const http::Request& request);
// Adds Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers for a request
// whose Origin the config allows.
void AddCorsHeaders(const std::optional<Cors>& cors, const http::Request& request, http::Response& response);

}  // namespace lambent::urls
