#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "eventbridge/event_pattern.h"
#include "eventbridge/model.h"
#include "eventbridge/rule_store.h"
#include "eventbridge/schedule_expression.h"

namespace lambent::eventbridge {

// An error in EventBridge's terms: its `__type` and message.
struct ServiceError {
  std::string type;
  std::string message;
};
using Answer = tl::expected<nlohmann::json, ServiceError>;

// A rule with its expressions parsed, as the router uses it.
struct CompiledRule {
  Rule rule;
  std::string arn;
  std::optional<EventPattern> pattern;
  std::optional<ScheduleExpression> schedule;
};
// Every bus's rules at one instant. Immutable once published.
struct RulesSnapshot {
  std::map<std::string, int64_t> buses;  // name -> created_ms, "default" included
  std::vector<std::shared_ptr<const CompiledRule>> rules;
};

struct ServiceOptions {
  std::string region;
  std::string account_id;
  std::function<int64_t()> now_ms;  // epoch ms; empty: the wall clock
};

// The control plane of EventBridge: buses, rules and targets, validated as the service
// does, kept in memory and in the RuleStore. Each change publishes a new RulesSnapshot and
// calls `on_change` (from the calling thread). Thread-safe; calls write SQLite, so they run
// on the control-plane workers.
class EventBusService {
 public:
  EventBusService(RuleStore& store, ServiceOptions options);
  Result<void> Load();

  // One JSON-protocol operation (PutRule, DescribeRule, ListRules, EnableRule, DisableRule,
  // DeleteRule, PutTargets, ListTargetsByRule, RemoveTargets, ListRuleNamesByTarget,
  // CreateEventBus, DescribeEventBus, DeleteEventBus, ListEventBuses, TestEventPattern).
  // PutEvents is the router's.
  Answer Call(const std::string& operation, const nlohmann::json& request);

  std::shared_ptr<const RulesSnapshot> snapshot() const;
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

  // A bus name from a name or an event bus ARN; "default" when empty.
  std::string BusName(const std::string& name_or_arn) const;
  const ServiceOptions& options() const { return options_; }

 private:
  Answer PutRule(const nlohmann::json& request);
  Answer DescribeRule(const nlohmann::json& request);
  Answer ListRules(const nlohmann::json& request);
  Answer SetRuleState(const nlohmann::json& request, bool enabled);
  Answer DeleteRule(const nlohmann::json& request);
  Answer PutTargets(const nlohmann::json& request);
  Answer ListTargetsByRule(const nlohmann::json& request);
  Answer RemoveTargets(const nlohmann::json& request);
  Answer ListRuleNamesByTarget(const nlohmann::json& request);
  Answer CreateEventBus(const nlohmann::json& request);
  Answer DescribeEventBus(const nlohmann::json& request);
  Answer DeleteEventBus(const nlohmann::json& request);
  Answer ListEventBuses(const nlohmann::json& request);
  Answer TestEventPattern(const nlohmann::json& request);

  // The rule a request names (Name or Rule, and EventBusName), or ResourceNotFoundException.
  tl::expected<Rule*, ServiceError> FindRule(const nlohmann::json& request, const char* name_field);
  Answer Save(const Rule& rule);
  nlohmann::json Describe(const Rule& rule) const;
  void PublishLocked();
  int64_t Now() const;

  RuleStore& store_;
  ServiceOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Bus> buses_;                          // GUARDED_BY(mutex_), without "default"
  std::map<std::pair<std::string, std::string>, Rule> rules_;  // (bus, name); GUARDED_BY(mutex_)
  std::shared_ptr<const RulesSnapshot> snapshot_;             // GUARDED_BY(mutex_)
  std::function<void()> on_change_;
};

}  // namespace lambent::eventbridge
