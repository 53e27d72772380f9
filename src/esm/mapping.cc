#include "esm/mapping.h"

#include <fmt/format.h>

#include "base/json.h"
#include "eventbridge/event_pattern.h"

namespace lambent::esm {

using nlohmann::json;

namespace {

// What only stream, Kafka, MQ or DocumentDB sources take: an SQS mapping refuses them.
constexpr const char* kNotForSqs[] = {
    "StartingPosition",          "StartingPositionTimestamp",
    "ParallelizationFactor",     "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",      "MaximumRecordAgeInSeconds",
    "TumblingWindowInSeconds",   "DestinationConfig",
    "Topics",                    "Queues",
    "SourceAccessConfigurations", "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig"};

Error TypeError(std::string_view key, std::string_view type) {
  return Error::Invalid(
      fmt::format("1 validation error detected: Value at '{}' must be {}", key, type));
}

Error RangeError(std::string_view key, int64_t value, int64_t min, int64_t max) {
  return Error::Invalid(fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
      "must have value {} {}",
      value, key, value < min ? "greater than or equal to" : "less than or equal to",
      value < min ? min : max));
}

// The API's member names are camelCase in Lambda's validation messages.
std::string MemberName(std::string_view key) {
  std::string name(key);
  if (!name.empty()) name[0] = char(std::tolower(static_cast<unsigned char>(name[0])));
  return name;
}

// `member`: the name Lambda's messages give it; empty: the key's.
Result<std::optional<int>> OptionalInt(const json& body, const char* key, int min, int max,
                                       std::string member = {}) {
  if (member.empty()) member = MemberName(key);
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<int>();
  if (!it->is_number_integer()) return tl::unexpected(TypeError(member, "an integer"));
  auto value = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)
                   ? INT64_MAX
                   : it->get<int64_t>();
  if (value < min || value > max) return tl::unexpected(RangeError(member, value, min, max));
  return std::optional<int>(int(value));
}

Result<std::optional<std::string>> OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return tl::unexpected(TypeError(MemberName(key), "a string"));
  return std::optional<std::string>(it->get<std::string>());
}

Result<void> ParseResponseTypes(const json& body, MappingRequest& out) {
  auto it = body.find("FunctionResponseTypes");
  if (it == body.end() || it->is_null()) return Ok();
  if (!it->is_array()) return tl::unexpected(TypeError("functionResponseTypes", "a list"));
  if (it->size() > 1) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy "
        "constraint: Member must have length less than or equal to 1"));
  }
  out.report_item_failures = false;
  for (const auto& type : *it) {
    if (!type.is_string() || type.get<std::string>() != "ReportBatchItemFailures") {
      return tl::unexpected(Error::Invalid(fmt::format(
          "1 validation error detected: Value '[{}]' at 'functionResponseTypes' failed to "
          "satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value "
          "set: [ReportBatchItemFailures]]",
          type.is_string() ? type.get<std::string>() : DumpJson(type))));
    }
    out.report_item_failures = true;
  }
  return Ok();
}

Result<void> ParseScalingConfig(const json& body, MappingRequest& out) {
  auto it = body.find("ScalingConfig");
  if (it == body.end() || it->is_null()) return Ok();
  if (!it->is_object()) return tl::unexpected(TypeError("scalingConfig", "a structure"));
  auto limit = OptionalInt(*it, "MaximumConcurrency", kMinMaximumConcurrency,
                           kMaxMaximumConcurrency, "scalingConfig.maximumConcurrency");
  if (!limit) return tl::unexpected(limit.error());
  out.maximum_concurrency = limit->value_or(0);
  return Ok();
}

Result<void> ParseFilterCriteria(const json& body, MappingRequest& out) {
  auto it = body.find("FilterCriteria");
  if (it == body.end() || it->is_null()) return Ok();
  if (!it->is_object()) return tl::unexpected(TypeError("filterCriteria", "a structure"));
  out.filters.emplace();
  auto filters = it->find("Filters");
  if (filters == it->end() || filters->is_null()) return Ok();
  if (!filters->is_array()) return tl::unexpected(TypeError("filterCriteria.filters", "a list"));
  if (filters->size() > size_t(kMaxFilters)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value at 'filterCriteria.filters' failed to satisfy "
        "constraint: Member must have length less than or equal to {}",
        kMaxFilters)));
  }
  for (const auto& filter : *filters) {
    auto pattern = filter.is_object() ? filter.find("Pattern") : filter.end();
    if (!filter.is_object() || pattern == filter.end() || !pattern->is_string() ||
        pattern->get_ref<const std::string&>().size() > kMaxFilterPatternBytes ||
        !eventbridge::EventPattern::Parse(pattern->get_ref<const std::string&>())) {
      return tl::unexpected(Error::Invalid("Invalid filter pattern definition."));
    }
    out.filters->push_back(pattern->get<std::string>());
  }
  return Ok();
}

}  // namespace

std::string Mapping::ToStorage() const {
  json doc{{"uuid", uuid},
           {"function", config.function},
           {"qualifier", config.qualifier},
           {"queue", config.queue},
           {"batch_size", config.batch_size},
           {"batching_window_s", config.batching_window_s},
           {"report_item_failures", config.report_item_failures},
           {"maximum_concurrency", config.maximum_concurrency},
           {"enabled", config.enabled},
           {"filters", config.filters},
           {"last_modified_ms", last_modified_ms}};
  return DumpJson(doc);
}

Result<Mapping> Mapping::FromStorage(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  auto corrupt = [] { return tl::unexpected(Error::Internal("corrupt event source mapping row")); };
  if (!doc.is_object()) return corrupt();
  Mapping mapping;
  auto text_of = [&doc](const char* key, std::string& out) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto int_of = [&doc](const char* key, auto& out) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_integer()) return false;
    out = it->get<std::remove_reference_t<decltype(out)>>();
    return true;
  };
  auto bool_of = [&doc](const char* key, bool& out) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_boolean()) return false;
    out = it->get<bool>();
    return true;
  };
  MappingConfig& c = mapping.config;
  if (!text_of("uuid", mapping.uuid) || !text_of("function", c.function) ||
      !text_of("qualifier", c.qualifier) || !text_of("queue", c.queue) ||
      !int_of("batch_size", c.batch_size) || !int_of("batching_window_s", c.batching_window_s) ||
      !bool_of("report_item_failures", c.report_item_failures) ||
      !int_of("maximum_concurrency", c.maximum_concurrency) || !bool_of("enabled", c.enabled) ||
      !int_of("last_modified_ms", mapping.last_modified_ms)) {
    return corrupt();
  }
  if (auto it = doc.find("filters"); it != doc.end()) {
    if (!it->is_array()) return corrupt();
    for (const auto& filter : *it) {
      if (!filter.is_string()) return corrupt();
      c.filters.push_back(filter.get<std::string>());
    }
  }
  return mapping;
}

std::string_view StateName(State state) {
  switch (state) {
    case State::kCreating: return "Creating";
    case State::kEnabling: return "Enabling";
    case State::kEnabled: return "Enabled";
    case State::kDisabling: return "Disabling";
    case State::kDisabled: return "Disabled";
    case State::kUpdating: return "Updating";
    case State::kDeleting: return "Deleting";
  }
  return "Enabled";
}

json MappingJson(const MappingStatus& status, std::string_view region, std::string_view account) {
  const Mapping& m = status.mapping;
  const MappingConfig& c = m.config;
  std::string function_arn =
      fmt::format("arn:aws:lambda:{}:{}:function:{}", region, account, c.function);
  if (!c.qualifier.empty()) function_arn += ":" + c.qualifier;
  json doc{{"UUID", m.uuid},
           {"BatchSize", c.batch_size},
           {"MaximumBatchingWindowInSeconds", c.batching_window_s},
           {"EventSourceArn", fmt::format("arn:aws:sqs:{}:{}:{}", region, account, c.queue)},
           {"FunctionArn", function_arn},
           {"LastModified", double(m.last_modified_ms) / 1000.0},
           {"State", StateName(status.state)},
           {"StateTransitionReason", "USER_INITIATED"},
           {"FunctionResponseTypes",
            c.report_item_failures ? json::array({"ReportBatchItemFailures"}) : json::array()}};
  if (c.maximum_concurrency > 0) {
    doc["ScalingConfig"] = {{"MaximumConcurrency", c.maximum_concurrency}};
  }
  if (!c.filters.empty()) {
    json filters = json::array();
    for (const auto& pattern : c.filters) filters.push_back({{"Pattern", pattern}});
    doc["FilterCriteria"] = {{"Filters", std::move(filters)}};
  }
  if (!status.problem.empty()) doc["LastProcessingResult"] = status.problem;
  return doc;
}

Result<MappingRequest> ParseMappingRequest(const json& doc, bool create) {
  if (!doc.is_object()) {
    return tl::unexpected(Error::Invalid("Could not parse request body into json"));
  }
  for (const char* key : kNotForSqs) {
    auto it = doc.find(key);
    if (it != doc.end() && !it->is_null()) {
      return tl::unexpected(Error::Invalid(
          fmt::format("Unsupported {} parameter for given event source mapping type.", key)));
    }
  }
  MappingRequest out;
  if (auto ok = ParseFilterCriteria(doc, out); !ok) return tl::unexpected(ok.error());
  auto function = OptionalString(doc, "FunctionName");
  if (!function) return tl::unexpected(function.error());
  out.function_name = std::move(*function);
  if (create && !out.function_name) {
    return tl::unexpected(Error::Invalid(
        "1 validation error detected: Value null at 'functionName' failed to satisfy "
        "constraint: Member must not be null"));
  }
  if (out.function_name && (out.function_name->empty() || out.function_name->size() > 140)) {
    return tl::unexpected(Error::Invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'functionName' failed to satisfy "
        "constraint: Member must have length {}",
        *out.function_name,
        out.function_name->empty() ? "greater than or equal to 1" : "less than or equal to 140")));
  }
  if (create) {
    auto arn = OptionalString(doc, "EventSourceArn");
    if (!arn) return tl::unexpected(arn.error());
    if (!*arn) return tl::unexpected(Error::Invalid("Unrecognized event source."));
    out.source_arn = std::move(*arn);
  } else if (doc.contains("EventSourceArn")) {
    // Lambda's Update has no such member: a mapping's source never changes.
    return tl::unexpected(Error::Invalid(
        "The event source of a mapping cannot be changed: create a new mapping instead."));
  }
  auto batch = OptionalInt(doc, "BatchSize", 1, kMaxBatchSize);
  if (!batch) return tl::unexpected(batch.error());
  out.batch_size = *batch;
  auto window = OptionalInt(doc, "MaximumBatchingWindowInSeconds", 0, kMaxBatchingWindowSeconds);
  if (!window) return tl::unexpected(window.error());
  out.batching_window_s = *window;
  if (auto it = doc.find("Enabled"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return tl::unexpected(TypeError("enabled", "a boolean"));
    out.enabled = it->get<bool>();
  }
  if (auto ok = ParseResponseTypes(doc, out); !ok) return tl::unexpected(ok.error());
  if (auto ok = ParseScalingConfig(doc, out); !ok) return tl::unexpected(ok.error());
  return out;
}

Result<void> ApplyRequest(const MappingRequest& request, MappingConfig& config) {
  if (request.batch_size) config.batch_size = *request.batch_size;
  if (request.batching_window_s) config.batching_window_s = *request.batching_window_s;
  if (request.enabled) config.enabled = *request.enabled;
  if (request.report_item_failures) config.report_item_failures = *request.report_item_failures;
  if (request.maximum_concurrency) config.maximum_concurrency = *request.maximum_concurrency;
  if (request.filters) config.filters = *request.filters;
  if (config.queue.ends_with(".fifo")) {
    if (config.batch_size > kMaxFifoBatchSize) {
      return tl::unexpected(Error::Invalid(fmt::format(
          "BatchSize must be less than or equal to {} for an SQS FIFO queue", kMaxFifoBatchSize)));
    }
    if (config.batching_window_s > 0) {
      return tl::unexpected(
          Error::Invalid("MaximumBatchingWindowInSeconds is not supported for SQS FIFO queues"));
    }
  }
  if (config.batch_size > 10 && config.batching_window_s < 1) {
    return tl::unexpected(Error::Invalid(
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
        "greater than 10"));
  }
  return Ok();
}

}  // namespace lambent::esm
