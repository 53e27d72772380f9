#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/json.h"

// Shared by the two halves of scheduler::Environment (environment.cc, runtime_api.cc).
namespace lambent::scheduler {

// How much of an invocation's log `--log-type Tail` returns, as Lambda does.
inline constexpr size_t kTailBytes = 4096;

// Lambda's error document, as the caller of a failed invocation gets it.
inline std::string ErrorDocument(std::string_view type, std::string_view message) {
  return DumpJson(nlohmann::json{{"errorType", type}, {"errorMessage", message}});
}

// The errorType a runtime put in its error document, as text fit for a log line.
inline std::string ErrorTypeOf(std::string_view document) {
  auto doc = nlohmann::json::parse(document, nullptr, false);
  if (!doc.is_object()) return "Runtime.Unknown";
  auto type = doc.find("errorType");
  if (type == doc.end() || !type->is_string()) return "Runtime.Unknown";
  return ValidUtf8(type->get_ref<const std::string&>());
}

}  // namespace lambent::scheduler
