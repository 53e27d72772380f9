#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"

// What the client commands share: one request to the daemon, and how an API error is shown.
// Blocking; for the CLI only.
namespace lambent::cli {

inline constexpr const char* kFunctions = "/2015-03-31/functions";

// The answer to a request, or reached = false when the daemon could not be reached (already
// said on stderr).
struct Call {
  bool reached = false;
  http::Response response;
};

// `on_piece`: see http::Fetch.
Call Request(const std::string& endpoint, http::beast_http::verb method, const std::string& target,
             std::string body = {}, const std::map<std::string, std::string>& headers = {},
             const http::BodyPieceSink& on_piece = nullptr);

// Prints an API error as "lambent: Type: message" and returns 1.
int Failed(const http::Response& response);

bool Ok(const http::Response& response);

// The response's JSON document; an empty object when it is not one.
nlohmann::json Document(const http::Response& response);

// `text` percent-encoded for a path segment or a query value: everything but RFC 3986's
// unreserved characters (an ARN's ':' included, as the AWS SDKs send it).
std::string Escape(std::string_view text);

// "/2015-03-31/functions/NAME" for a function name, a "NAME:QUALIFIER" or an ARN.
std::string FunctionPath(std::string_view function);

// Fetches every page of a paged list (Marker/NextMarker, Lambda's style) under `key`.
// nullopt when a request failed (already printed; `*exit_code` says how).
std::optional<nlohmann::json> ListAll(const std::string& endpoint, const std::string& path,
                                      const std::string& key, int* exit_code);

}  // namespace lambent::cli
