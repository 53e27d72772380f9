#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "sqs/sqs_error.h"

namespace lambent::sqs {

// The JSON protocol's side of the SQS API (`X-Amz-Target: AmazonSQS.<Operation>`,
// application/x-amz-json-1.0). Pure functions; thread-safe.

inline constexpr std::string_view kSqsJsonContentType = "application/x-amz-json-1.0";
inline constexpr std::string_view kSqsTargetPrefix = "AmazonSQS.";

struct JsonRequest {
  std::string operation;
  nlohmann::json input;
};

// The operation a target header names and the body's document. An empty body is an empty
// input. Errors: InvalidAction for another service's target, a malformed-request error for
// a body that is not a JSON object.
tl::expected<JsonRequest, SqsError> ParseJsonRequest(std::string_view target, std::string_view body);

// The error document: {"__type": "com.amazonaws.sqs#<shape>", "message": ...}.
std::string JsonErrorBody(const SqsError& error);
// The x-amzn-query-error header's value ("<query code>;Sender"), by which SDKs built for the
// query protocol's error codes recognise the error.
std::string QueryErrorHeader(const SqsError& error);

}  // namespace lambent::sqs
