#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sqs/sqs_error.h"

namespace lambent::sqs {

// The query protocol's side of the SQS API: form-encoded requests (Action=...&Version=...,
// lists and maps flattened as `Attribute.1.Name=...`) and XML answers. Requests are turned
// into the JSON protocol's input document and answers rendered from its output document, so
// the operations are written once. Pure functions; thread-safe.

using FormParams = std::map<std::string, std::string>;

inline constexpr std::string_view kSqsXmlNamespace = "http://queue.amazonaws.com/doc/2012-11-05/";

// Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a byte) into `params`;
// a later repeat of a name wins. False on a malformed escape.
bool DecodeForm(std::string_view text, FormParams& params);

// The input document of `action` in the JSON protocol's shape. Scalars stay strings (the
// operations accept numbers as strings); flattened lists, maps and batch entries become
// arrays and objects. Unknown parameters are dropped.
nlohmann::json QueryInput(std::string_view action, const FormParams& params);

// Text with XML's special characters escaped; invalid UTF-8 and characters XML cannot
// carry become U+FFFD, and a carriage return is kept as a reference so parsers keep it.
std::string XmlEscape(std::string_view text);

// <ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>... for `output`.
std::string XmlResponse(std::string_view action, const nlohmann::json& output, std::string_view request_id);
// <ErrorResponse><Error><Type>Sender</Type><Code>... as SQS answers.
std::string XmlError(const SqsError& error, std::string_view request_id);

}  // namespace lambent::sqs
