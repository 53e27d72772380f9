#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambent::async {

// What a destination ARN (OnSuccess / OnFailure, DeadLetterConfig.TargetArn) names. Lambda
// accepts all four; lambent delivers to functions and to its own queues.
enum class DestinationKind { kFunction, kQueue, kTopic, kEventBus, kUnknown };
DestinationKind DestinationKindOf(std::string_view arn);

// arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
struct FunctionArnParts {
  std::string region;
  std::string account;
  std::string name;
  std::string qualifier;  // empty: unqualified
};
std::optional<FunctionArnParts> ParseFunctionArn(std::string_view arn);

// Why an event's record goes to a destination: Lambda's requestContext.condition.
enum class Condition { kSuccess, kRetriesExhausted, kEventAgeExceeded };
const char* ConditionName(Condition condition);

// The function's answer to the attempt a record reports, when one ran.
struct AttemptResponse {
  int status_code = 200;
  std::string executed_version;
  bool function_error = false;  // responseContext.functionError "Unhandled"
  std::string payload;          // the function's result or error document
};

// Everything Lambda's invocation record says about an event.
struct RecordInput {
  std::string request_id;
  std::string function_arn;  // qualified, "$LATEST" for an unqualified invoke
  Condition condition = Condition::kSuccess;
  int approximate_invoke_count = 0;
  std::string request_payload;  // the event as sent
  std::optional<AttemptResponse> response;
  int64_t timestamp_ms = 0;
};

// Lambda's destination record (version "1.0"): JSON payloads are embedded as JSON, anything
// else as a string. Pure.
std::string DestinationRecord(const RecordInput& input);

// The errorMessage of a function's error document, or the document itself cut to 1 KB
// (Lambda's DLQ ErrorMessage holds the first 1 KB).
std::string ErrorMessageOf(std::string_view error_document);

// "2019-11-14T18:16:05.568Z"
std::string FormatIsoTimestamp(int64_t epoch_ms);

}  // namespace lambent::async
