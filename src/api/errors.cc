#include "api/errors.h"
#include "base/json.h"

#include <nlohmann/json.hpp>

namespace lambent::api {

http::Response ErrorResponse(unsigned status, std::string_view type, std::string_view message,
                             std::string_view reason) {
  nlohmann::json body{{"Type", status >= 500 ? "Service" : "User"}, {"message", message}};
  if (!reason.empty()) body["Reason"] = reason;
  auto response = http::MakeResponse(status, DumpJson(body));
  response.set("x-amzn-ErrorType", type);
  return response;
}

http::Response ErrorResponse(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kNotFound:
      return ErrorResponse(404, "ResourceNotFoundException", error.message());
    case ErrorCode::kInvalidArgument:
      return ErrorResponse(400, "InvalidParameterValueException", error.message());
    case ErrorCode::kConflict:
      return ErrorResponse(409, "ResourceConflictException", error.message());
    case ErrorCode::kTooLarge:
      return ErrorResponse(413, "RequestTooLargeException", error.message());
    case ErrorCode::kPreconditionFailed:
      return ErrorResponse(412, "PreconditionFailedException", error.message());
    case ErrorCode::kTooManyRequests:
      return ErrorResponse(429, "TooManyRequestsException", error.message(),
                           error.reason().empty() ? "ConcurrentInvocationLimitExceeded" : error.reason());
    case ErrorCode::kUnsupportedMedia:
      return ErrorResponse(415, "UnsupportedMediaTypeException", error.message());
    case ErrorCode::kUnavailable:
      return ErrorResponse(503, "ServiceException", error.message());
    case ErrorCode::kSystem:
    case ErrorCode::kInternal:
      break;
  }
  return ErrorResponse(500, "ServiceException", error.message());
}

}  // namespace lambent::api
