#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace lambent::esm {

// Lambda's defaults and limits for an SQS event source (CreateEventSourceMapping).
constexpr int kDefaultBatchSize = 10;
constexpr int kMaxBatchSize = 10000;
constexpr int kMaxBatchingWindowSeconds = 300;
constexpr int kMinMaximumConcurrency = 2;
constexpr int kMaxMaximumConcurrency = 1000;
constexpr int kMaxFilters = 5;
constexpr size_t kMaxFilterPatternBytes = 4096;
// A FIFO queue's batches: Lambda's limit, and no batching window.
constexpr int kMaxFifoBatchSize = 10;

// What a user sets on one mapping of a queue to a function. Plain data; copyable.
struct MappingConfig {
  std::string function;   // the function's name
  std::string qualifier;  // a version or alias; empty: unqualified ($LATEST)
  std::string queue;      // the engine queue (an SQS queue's name)
  int batch_size = kDefaultBatchSize;
  int batching_window_s = 0;
  bool report_item_failures = false;  // FunctionResponseTypes ["ReportBatchItemFailures"]
  int maximum_concurrency = 0;        // ScalingConfig.MaximumConcurrency; 0: not set
  bool enabled = true;
  // FilterCriteria's patterns (EventBridge event patterns), as given: a message runs when
  // any matches its record, and is deleted unseen when none does. Empty: every message runs.
  std::vector<std::string> filters;

  bool operator==(const MappingConfig&) const = default;
};

// A mapping as stored. Plain data; copyable.
struct Mapping {
  std::string uuid;
  MappingConfig config;
  int64_t last_modified_ms = 0;  // epoch ms of the last user change

  // The storage document (not the API's shape).
  std::string ToStorage() const;
  // kInternal for a document this code did not write.
  static Result<Mapping> FromStorage(std::string_view text);
};

// Lambda's State of a mapping. Creating, Enabling and Updating end in Enabled once its
// poller runs; Disabling ends in Disabled, and Deleting in its removal, once its batches in
// flight are done.
enum class State { kCreating, kEnabling, kEnabled, kDisabling, kDisabled, kUpdating, kDeleting };
std::string_view StateName(State state);

// What GetEventSourceMapping shows of one mapping.
struct MappingStatus {
  Mapping mapping;
  State state = State::kCreating;
  // Why the last batch could not run ("PROBLEM: Function not found."); empty when fine.
  std::string problem;
};

// The EventSourceMappingConfiguration document of Lambda's API for an SQS source.
nlohmann::json MappingJson(const MappingStatus& status, std::string_view region,
                           std::string_view account);

// The fields a Create or UpdateEventSourceMapping body sets, validated one by one (types,
// ranges, what an SQS source refuses); nullopt: not given.
struct MappingRequest {
  std::optional<std::string> function_name;  // as given: a name, a partial or full ARN
  std::optional<std::string> source_arn;
  std::optional<int> batch_size;
  std::optional<int> batching_window_s;
  std::optional<bool> enabled;
  std::optional<bool> report_item_failures;
  std::optional<int> maximum_concurrency;  // 0: ScalingConfig given empty (removes it)
  std::optional<std::vector<std::string>> filters;  // empty: FilterCriteria removed
};
// kInvalidArgument in Lambda's words for anything malformed or out of range (filter
// patterns included), and for parameters only stream or Kafka sources take.
// `create`: CreateEventSourceMapping's body (FunctionName required); else Update's.
Result<MappingRequest> ParseMappingRequest(const nlohmann::json& body, bool create);

// Applies a request's settings (not its function or source) to `config`, then checks what
// holds between fields (a batch over 10 needs a batching window; a FIFO queue's batches
// hold at most 10 with none).
Result<void> ApplyRequest(const MappingRequest& request, MappingConfig& config);

}  // namespace lambent::esm
