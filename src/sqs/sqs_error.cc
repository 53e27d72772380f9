#include "sqs/sqs_error.h"

#include <fmt/format.h>

namespace lambent::sqs {

namespace {

SqsError Make(std::string shape, std::string code, std::string message) {
  return SqsError{std::move(shape), std::move(code), std::move(message)};
}

}  // namespace

SqsError SqsError::NonExistentQueue() {
  return Make("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
}

SqsError SqsError::QueueNameExists(const std::string& name) {
  return Make("QueueNameExists", "QueueAlreadyExists",
              fmt::format("A queue already exists with the same name and a different value for "
                          "attribute(s) of queue {}",
                          name));
}

SqsError SqsError::InvalidParameterValue(std::string message) {
  return Make("InvalidParameterValue", "InvalidParameterValue", std::move(message));
}

SqsError SqsError::MissingParameter(const std::string& parameter) {
  return Make("MissingParameter", "MissingParameter",
              fmt::format("The request must contain the parameter {}.", parameter));
}

SqsError SqsError::InvalidAction(const std::string& action) {
  return Make("InvalidAction", "InvalidAction", fmt::format("The action {} is not valid for this endpoint.", action));
}

SqsError SqsError::InvalidAttributeName(const std::string& name) {
  return Make("InvalidAttributeName", "InvalidAttributeName", fmt::format("Unknown Attribute {}.", name));
}

SqsError SqsError::InvalidAttributeValue(std::string message) {
  return Make("InvalidAttributeValue", "InvalidAttributeValue", std::move(message));
}

SqsError SqsError::InvalidMessageContents(std::string message) {
  return Make("InvalidMessageContents", "InvalidMessageContents", std::move(message));
}

SqsError SqsError::ReceiptHandleIsInvalid(const std::string& handle) {
  return Make("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
              fmt::format("The input receipt handle \"{}\" is not a valid receipt handle.", handle));
}

SqsError SqsError::MessageNotInflight() {
  return Make("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
              "Message does not exist or is not available for visibility timeout change.");
}

SqsError SqsError::TooManyEntriesInBatchRequest(size_t entries) {
  return Make("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
              fmt::format("Maximum number of entries per request are 10. You have sent {}.", entries));
}

SqsError SqsError::EmptyBatchRequest() {
  return Make("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
              "There should be at least one entry in the request.");
}

SqsError SqsError::BatchEntryIdsNotDistinct(const std::string& id) {
  return Make("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
              fmt::format("Id {} repeated.", id));
}

SqsError SqsError::InvalidBatchEntryId() {
  return Make("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
              "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
              "It can be at most 80 letters long.");
}

SqsError SqsError::BatchRequestTooLong(size_t bytes) {
  return Make("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
              fmt::format("Batch requests cannot be longer than 262144 bytes. You have sent {} bytes.", bytes));
}

SqsError SqsError::UnsupportedOperation(std::string message) {
  return Make("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", std::move(message));
}

SqsError SqsError::MalformedRequest(std::string message) {
  return Make("MalformedQueryString", "MalformedQueryString", std::move(message));
}

SqsError SqsError::Throttled() {
  SqsError error = Make("RequestThrottled", "RequestThrottled", "The queue engine is busy writing; retry the request.");
  error.status = 403;
  return error;
}

SqsError SqsError::Internal() {
  SqsError error = Make("InternalError", "InternalError", "We encountered an internal error. Please try again.");
  error.status = 500;
  error.sender_fault = false;
  return error;
}

SqsError SqsError::FromEngine(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kNotFound:
      return NonExistentQueue();
    case ErrorCode::kInvalidArgument:
      return InvalidParameterValue(error.message());
    case ErrorCode::kTooManyRequests:
      return Throttled();
    default:
      return Internal();
  }
}

}  // namespace lambent::sqs
