#pragma once

#include <string_view>

#include "base/error.h"
#include "http/server.h"

namespace lambent::api {

// Lambda's error shape: header x-amzn-ErrorType, body {"Type","message"} (+ "Reason").
http::Response ErrorResponse(unsigned status, std::string_view type, std::string_view message,
                             std::string_view reason = {});
// Maps an Error onto the Lambda exception its code stands for.
http::Response ErrorResponse(const Error& error);

}  // namespace lambent::api
