#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace lambent {

// What kind of failure an Error is. The API layer maps each code onto Lambda's error type
// and HTTP status; the code carries no HTTP knowledge itself.
enum class ErrorCode {
  kNotFound,          // ResourceNotFoundException, 404
  kInvalidArgument,   // InvalidParameterValueException, 400
  kConflict,          // ResourceConflictException, 409
  kPreconditionFailed,  // PreconditionFailedException, 412 (a stale RevisionId or CodeSha256)
  kTooLarge,          // RequestTooLargeException, 413
  kTooManyRequests,   // TooManyRequestsException, 429
  kUnsupportedMedia,  // UnsupportedMediaTypeException, 415
  kUnavailable,       // the daemon is stopping; ServiceException, 503
  kSystem,            // a system call failed; ServiceException, 500
  kInternal,          // a bug or an unexpected state; ServiceException, 500
};

// A failure: a code, a message for humans, and the errno when a system call failed.
// Cheap to move; copyable. Not tied to any thread.
class Error {
 public:
  Error(ErrorCode code, std::string message, int sys_errno = 0)
      : code_(code), message_(std::move(message)), errno_(sys_errno) {}

  static Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
  static Error Invalid(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
  static Error Conflict(std::string msg) { return {ErrorCode::kConflict, std::move(msg)}; }
  static Error TooLarge(std::string msg) { return {ErrorCode::kTooLarge, std::move(msg)}; }
  static Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
  static Error PreconditionFailed(std::string msg) {
    return {ErrorCode::kPreconditionFailed, std::move(msg)};
  }
  // A 429 with Lambda's `Reason`, e.g. "ReservedFunctionConcurrentInvocationLimitExceeded".
  static Error Throttled(std::string reason, std::string msg) {
    Error error(ErrorCode::kTooManyRequests, std::move(msg));
    error.reason_ = std::move(reason);
    return error;
  }
  // "call(what): strerror(errno)", e.g. "open(/data/lambent.db): Permission denied".
  static Error System(std::string_view call, std::string_view what, int sys_errno);

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  int sys_errno() const { return errno_; }
  // Why a request was refused, in Lambda's words (the `Reason` of a 429); may be empty.
  const std::string& reason() const { return reason_; }

 private:
  ErrorCode code_;
  std::string message_;
  int errno_;
  std::string reason_;
};

template <typename T>
using Result = tl::expected<T, Error>;

// The success value of a Result<void>.
inline Result<void> Ok() { return {}; }

}  // namespace lambent
