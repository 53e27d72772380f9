#include "async/destination.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

namespace lambent::async {

using nlohmann::json;

namespace {

constexpr size_t kMaxErrorMessage = 1024;

// A payload as the record embeds it: a JSON value when it is one, its text otherwise.
json Embedded(std::string_view payload) {
  if (payload.empty()) return nullptr;
  auto parsed = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string(payload);
  return parsed;
}

std::string Cut(std::string_view text) {
  return std::string(text.substr(0, std::min(text.size(), kMaxErrorMessage)));
}

}  // namespace

DestinationKind DestinationKindOf(std::string_view arn) {
  if (!arn.starts_with("arn:")) return DestinationKind::kUnknown;
  // arn:<partition>:<service>:...
  size_t partition_end = arn.find(':', 4);
  if (partition_end == std::string_view::npos) return DestinationKind::kUnknown;
  size_t service_end = arn.find(':', partition_end + 1);
  if (service_end == std::string_view::npos) return DestinationKind::kUnknown;
  std::string_view service = arn.substr(partition_end + 1, service_end - partition_end - 1);
  if (service == "lambda") {
    return ParseFunctionArn(arn) ? DestinationKind::kFunction : DestinationKind::kUnknown;
  }
  if (service == "sqs") return DestinationKind::kQueue;
  if (service == "sns") return DestinationKind::kTopic;
  if (service == "events") return DestinationKind::kEventBus;
  return DestinationKind::kUnknown;
}

std::optional<FunctionArnParts> ParseFunctionArn(std::string_view arn) {
  // arn : aws : lambda : region : account : function : name [: qualifier]
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t colon = arn.find(':', start);
    parts.push_back(arn.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if ((parts.size() != 7 && parts.size() != 8) || parts[0] != "arn" || parts[2] != "lambda" ||
      parts[5] != "function" || parts[6].empty() || (parts.size() == 8 && parts[7].empty())) {
    return std::nullopt;
  }
  FunctionArnParts out{std::string(parts[3]), std::string(parts[4]), std::string(parts[6]), {}};
  if (parts.size() == 8) out.qualifier = std::string(parts[7]);
  return out;
}

const char* ConditionName(Condition condition) {
  switch (condition) {
    case Condition::kSuccess:
      return "Success";
    case Condition::kRetriesExhausted:
      return "RetriesExhausted";
    case Condition::kEventAgeExceeded:
      return "EventAgeExceeded";
  }
  return "Unknown";
}

std::string DestinationRecord(const RecordInput& input) {
  json record{{"version", "1.0"},
              {"timestamp", FormatIsoTimestamp(input.timestamp_ms)},
              {"requestContext",
               {{"requestId", input.request_id},
                {"functionArn", input.function_arn},
                {"condition", ConditionName(input.condition)},
                {"approximateInvokeCount", input.approximate_invoke_count}}},
              {"requestPayload", Embedded(input.request_payload)}};
  if (input.response) {
    json context{{"statusCode", input.response->status_code},
                 {"executedVersion", input.response->executed_version}};
    if (input.response->function_error) context["functionError"] = "Unhandled";
    record["responseContext"] = std::move(context);
    record["responsePayload"] = Embedded(input.response->payload);
  }
  // Invalid UTF-8 in a payload must not throw out of here.
  return record.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ErrorMessageOf(std::string_view error_document) {
  auto parsed = json::parse(error_document, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    if (auto it = parsed.find("errorMessage"); it != parsed.end() && it->is_string()) {
      return Cut(it->get<std::string>());
    }
  }
  return Cut(error_document);
}

std::string FormatIsoTimestamp(int64_t epoch_ms) {
  std::time_t seconds = std::time_t(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     int(epoch_ms % 1000));
}

}  // namespace lambent::async
