#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_context.h"
#include "api/request_target.h"
#include "base/error.h"
#include "http/server.h"

// Pieces every Lambda API resource uses: JSON answers, Lambda's not-found wording, qualifier
// rules and list paging. Thread-safe.
namespace lambent::api {

http::Response JsonResponse(unsigned status, const nlohmann::json& body);

// ResourceNotFoundException "Function not found: <ARN>", qualified when `qualifier` is set,
// as Lambda words it for a function, a version or an alias it cannot find.
http::Response FunctionNotFound(const ApiContext& context, const std::string& name,
                                const std::string& qualifier = {});

// A registry error about function `name` in Lambda's words: kNotFound as FunctionNotFound (the
// registry's own message names no ARN), anything else as it is.
http::Response RegistryError(const ApiContext& context, const std::string& name,
                             const Error& error);

// PreconditionFailedException (412): a RevisionId that is not the current one, in Lambda's words.
http::Response StaleRevision();

// "1", "42": a published version's number (not "$LATEST", not an alias).
bool IsVersionNumber(std::string_view qualifier);

// The answer to a qualified name where an operation acts on the function itself ($LATEST):
// Update*, PublishVersion, the alias and concurrency resources. nullopt when `ref` names no
// version, or names $LATEST and `latest_ok`.
std::optional<http::Response> RefuseQualifier(const FunctionRef& ref, bool latest_ok = true);

// The body's Description, at most 256 characters; nullopt when it has none.
Result<std::optional<std::string>> OptionalDescription(const nlohmann::json& body);

// MaxItems of a list operation, in [1, `max`]; `fallback` when absent.
Result<int> ParseMaxItems(const RequestTarget& target, int max, int fallback);
// List markers are opaque to clients: the base64 of the key to resume at.
Result<std::string> DecodeMarker(const RequestTarget& target);
std::string EncodeMarker(const std::string& key);

// The page a list operation asks for: at most `max_items`, from the key `marker` on.
struct Page {
  int max_items = 0;
  std::string marker;
};
// ParseMaxItems, then DecodeMarker.
Result<Page> ParsePage(const RequestTarget& target, int max, int fallback);

}  // namespace lambent::api
