#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <tl/expected.hpp>

#include "base/error.h"

namespace lambent::sqs {

// An SQS error as both wire protocols spell it: `shape` is the JSON protocol's error type
// (its __type is "com.amazonaws.sqs#<shape>"), `code` the query protocol's Code (also sent in
// the JSON protocol's x-amzn-query-error header). Plain data.
struct SqsError {
  std::string shape;
  std::string code;
  std::string message;
  unsigned status = 400;
  bool sender_fault = true;

  static SqsError NonExistentQueue();
  static SqsError QueueNameExists(const std::string& name);
  static SqsError InvalidParameterValue(std::string message);
  static SqsError MissingParameter(const std::string& parameter);
  static SqsError InvalidAction(const std::string& action);
  static SqsError InvalidAttributeName(const std::string& name);
  static SqsError InvalidAttributeValue(std::string message);
  static SqsError InvalidMessageContents(std::string message);
  static SqsError ReceiptHandleIsInvalid(const std::string& handle);
  static SqsError MessageNotInflight();
  static SqsError TooManyEntriesInBatchRequest(size_t entries);
  static SqsError EmptyBatchRequest();
  static SqsError BatchEntryIdsNotDistinct(const std::string& id);
  static SqsError InvalidBatchEntryId();
  static SqsError BatchRequestTooLong(size_t bytes);
  static SqsError UnsupportedOperation(std::string message);
  static SqsError MalformedRequest(std::string message);
  static SqsError Throttled();
  static SqsError Internal();
  // An engine error met while working on `queue` (kNotFound: the queue is gone).
  static SqsError FromEngine(const Error& error);
};

// What an operation answers: its output in the JSON protocol's shape (the query protocol
// renders the same document as XML), or an error.
using Outcome = tl::expected<nlohmann::json, SqsError>;

}  // namespace lambent::sqs
