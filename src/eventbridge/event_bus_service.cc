#include "eventbridge/event_bus_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.h"
#include "base/encoding.h"

namespace lambent::eventbridge {

using nlohmann::json;

namespace {

constexpr size_t kMaxTargetsPerRule = 5;
constexpr int kMaxListLimit = 100;

tl::unexpected<ServiceError> Fail(std::string type, std::string message) {
  return tl::unexpected(ServiceError{std::move(type), std::move(message)});
}
tl::unexpected<ServiceError> Invalid(std::string message) { return Fail("ValidationException", std::move(message)); }

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool ValidName(const std::string& name, size_t max, bool slash_ok = false) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [slash_ok](char c) { return IsNameChar(c) || (slash_ok && c == '/'); });
}

std::optional<std::string> Text(const json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Paging for List*: NextToken is the base64 of the last key handed out.
struct Paging {
  size_t limit;
  std::string after;
};
tl::expected<Paging, ServiceError> ParsePaging(const json& request) {
  Paging paging{size_t(kMaxListLimit), {}};
  if (auto it = request.find("Limit"); it != request.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > kMaxListLimit) {
      return Invalid("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100");
    }
    paging.limit = size_t(it->get<int64_t>());
  }
  if (auto token = Text(request, "NextToken")) {
    auto decoded = Base64Decode(*token);
    if (!decoded) return Invalid("The NextToken is not valid.");
    paging.after = *decoded;
  }
  return paging;
}

std::string Capitalized(bool enabled) { return enabled ? "ENABLED" : "DISABLED"; }

}  // namespace

EventBusService::EventBusService(RuleStore& store, ServiceOptions options)
    : store_(store), options_(std::move(options)) {
  std::lock_guard lock(mutex_);
  PublishLocked();
}

int64_t EventBusService::Now() const { return options_.now_ms ? options_.now_ms() : NowEpochMs(); }

Result<void> EventBusService::Load() {
  auto contents = store_.Load();
  if (!contents) return tl::unexpected(contents.error());
  std::lock_guard lock(mutex_);
  for (Bus& bus : contents->buses) buses_[bus.name] = bus;
  for (Rule& rule : contents->rules) rules_[{rule.bus, rule.name}] = std::move(rule);
  PublishLocked();
  return Ok();
}

std::shared_ptr<const RulesSnapshot> EventBusService::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void EventBusService::PublishLocked() {
  auto snapshot = std::make_shared<RulesSnapshot>();
  snapshot->buses[kDefaultBus] = 0;
  for (const auto& [name, bus] : buses_) snapshot->buses[name] = bus.created_ms;
  for (const auto& [key, rule] : rules_) {
    auto compiled = std::make_shared<CompiledRule>();
    compiled->rule = rule;
    compiled->arn = RuleArn(options_.region, options_.account_id, rule);
    // Stored expressions were valid when put: parsing them again cannot fail but for a
    // store edited by hand, and then the rule simply never fires.
    if (!rule.event_pattern.empty()) {
      if (auto pattern = EventPattern::Parse(rule.event_pattern)) compiled->pattern = std::move(*pattern);
    }
    if (!rule.schedule_expression.empty()) {
      if (auto schedule = ScheduleExpression::Parse(rule.schedule_expression)) compiled->schedule = std::move(*schedule);
    }
    snapshot->rules.push_back(std::move(compiled));
  }
  snapshot_ = std::move(snapshot);
}

std::string EventBusService::BusName(const std::string& name_or_arn) const {
  if (name_or_arn.empty()) return kDefaultBus;
  if (name_or_arn.starts_with("arn:")) {
    auto slash = name_or_arn.find(":event-bus/");
    if (slash != std::string::npos) return name_or_arn.substr(slash + 11);
  }
  return name_or_arn;
}

Answer EventBusService::Call(const std::string& operation, const json& request) {
  if (!request.is_object()) return Invalid("The request body must be a JSON object.");
  try {
    if (operation == "PutRule") return PutRule(request);
    if (operation == "DescribeRule") return DescribeRule(request);
    if (operation == "ListRules") return ListRules(request);
    if (operation == "EnableRule") return SetRuleState(request, true);
    if (operation == "DisableRule") return SetRuleState(request, false);
    if (operation == "DeleteRule") return DeleteRule(request);
    if (operation == "PutTargets") return PutTargets(request);
    if (operation == "ListTargetsByRule") return ListTargetsByRule(request);
    if (operation == "RemoveTargets") return RemoveTargets(request);
    if (operation == "ListRuleNamesByTarget") return ListRuleNamesByTarget(request);
    if (operation == "CreateEventBus") return CreateEventBus(request);
    if (operation == "DescribeEventBus") return DescribeEventBus(request);
    if (operation == "DeleteEventBus") return DeleteEventBus(request);
    if (operation == "ListEventBuses") return ListEventBuses(request);
    if (operation == "TestEventPattern") return TestEventPattern(request);
  } catch (const json::exception& e) {
    return Invalid(std::string("The request is not valid: ") + e.what());
  }
  return Fail("UnknownOperationException", "Unknown operation " + operation);
}

tl::expected<Rule*, ServiceError> EventBusService::FindRule(const json& request, const char* name_field) {
  auto name = Text(request, name_field);
  if (!name) return Invalid(fmt::format("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", name_field));
  std::string bus = BusName(Text(request, "EventBusName").value_or(""));
  auto it = rules_.find({bus, *name});
  if (it == rules_.end()) return Fail("ResourceNotFoundException", fmt::format("Rule {} does not exist on EventBus {}.", *name, bus));
  return &it->second;
}

Answer EventBusService::Save(const Rule& rule) {
  if (auto ok = store_.PutRule(rule); !ok) return Fail("InternalException", ok.error().message());
  return json::object();
}

json EventBusService::Describe(const Rule& rule) const {
  json out{{"Name", rule.name},
           {"Arn", RuleArn(options_.region, options_.account_id, rule)},
           {"State", Capitalized(rule.enabled)},
           {"EventBusName", rule.bus},
           {"CreatedBy", options_.account_id}};
  if (!rule.event_pattern.empty()) out["EventPattern"] = rule.event_pattern;
  if (!rule.schedule_expression.empty()) out["ScheduleExpression"] = rule.schedule_expression;
  if (!rule.description.empty()) out["Description"] = rule.description;
  if (!rule.role_arn.empty()) out["RoleArn"] = rule.role_arn;
  return out;
}

Answer EventBusService::PutRule(const json& request) {
  auto name = Text(request, "Name");
  if (!name || !ValidName(*name, 64)) {
    return Invalid("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64");
  }
  std::string bus = BusName(Text(request, "EventBusName").value_or(""));
  std::string schedule = Text(request, "ScheduleExpression").value_or("");
  std::string pattern = Text(request, "EventPattern").value_or("");
  if (schedule.empty() && pattern.empty()) {
    return Invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.");
  }
  if (!schedule.empty()) {
    if (auto parsed = ScheduleExpression::Parse(schedule); !parsed) return Invalid(parsed.error().message());
    if (bus != kDefaultBus) return Invalid("ScheduleExpression is supported only on the default event bus.");
  }
  if (!pattern.empty()) {
    if (auto parsed = EventPattern::Parse(pattern); !parsed) return Fail("InvalidEventPatternException", parsed.error().message());
  }
  std::string state = Text(request, "State").value_or("ENABLED");
  if (state != "ENABLED" && state != "DISABLED" && state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") {
    return Invalid("1 validation error detected: Value at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]");
  }
  std::string description = Text(request, "Description").value_or("");
  if (description.size() > 512) return Invalid("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512");

  std::lock_guard lock(mutex_);
  if (bus != kDefaultBus && !buses_.contains(bus)) {
    return Fail("ResourceNotFoundException", fmt::format("Event bus {} does not exist.", bus));
  }
  Rule rule;
  rule.name = *name;
  rule.bus = bus;
  bool existed = false;
  if (auto it = rules_.find({bus, *name}); it != rules_.end()) {
    rule = it->second;  // PutRule updates a rule and keeps its targets
    existed = true;
  }
  bool enabled = state != "DISABLED";
  // A rate counts from when it was set or enabled, not from when the rule was first made.
  if (!existed || rule.schedule_expression != schedule || (enabled && !rule.enabled)) rule.anchor_ms = Now();
  rule.schedule_expression = schedule;
  rule.event_pattern = pattern;
  rule.enabled = enabled;
  rule.description = description;
  rule.role_arn = Text(request, "RoleArn").value_or("");
  if (auto saved = Save(rule); !saved) return saved;
  rules_[{bus, *name}] = rule;
  PublishLocked();
  if (on_change_) on_change_();
  return json{{"RuleArn", RuleArn(options_.region, options_.account_id, rule)}};
}

Answer EventBusService::DescribeRule(const json& request) {
  std::lock_guard lock(mutex_);
  auto rule = FindRule(request, "Name");
  if (!rule) return tl::unexpected(rule.error());
  return Describe(**rule);
}

Answer EventBusService::ListRules(const json& request) {
  auto paging = ParsePaging(request);
  if (!paging) return tl::unexpected(paging.error());
  std::string bus = BusName(Text(request, "EventBusName").value_or(""));
  std::string prefix = Text(request, "NamePrefix").value_or("");
  std::lock_guard lock(mutex_);
  if (bus != kDefaultBus && !buses_.contains(bus)) {
    return Fail("ResourceNotFoundException", fmt::format("Event bus {} does not exist.", bus));
  }
  json list = json::array();
  std::string last;
  bool more = false;
  for (auto it = rules_.lower_bound({bus, paging->after}); it != rules_.end() && it->first.first == bus; ++it) {
    const Rule& rule = it->second;
    if (!paging->after.empty() && rule.name <= paging->after) continue;
    if (!rule.name.starts_with(prefix)) continue;
    if (list.size() == paging->limit) {
      more = true;
      break;
    }
    list.push_back(Describe(rule));
    last = rule.name;
  }
  json out{{"Rules", list}};
  if (more) out["NextToken"] = Base64Encode(last);
  return out;
}

Answer EventBusService::SetRuleState(const json& request, bool enabled) {
  std::lock_guard lock(mutex_);
  auto found = FindRule(request, "Name");
  if (!found) return tl::unexpected(found.error());
  Rule rule = **found;
  if (enabled && !rule.enabled) rule.anchor_ms = Now();
  rule.enabled = enabled;
  if (auto saved = Save(rule); !saved) return saved;
  **found = rule;
  PublishLocked();
  if (on_change_) on_change_();
  return json::object();
}

Answer EventBusService::DeleteRule(const json& request) {
  std::lock_guard lock(mutex_);
  auto found = FindRule(request, "Name");
  if (!found) {
    // Deleting what is not there succeeds, as it does on EventBridge.
    if (found.error().type == "ResourceNotFoundException") return json::object();
    return tl::unexpected(found.error());
  }
  if (!(*found)->targets.empty() && !request.value("Force", false)) {
    return Invalid("Rule can't be deleted since it has targets.");
  }
  Rule rule = **found;
  if (auto ok = store_.DeleteRule(rule.bus, rule.name); !ok) return Fail("InternalException", ok.error().message());
  rules_.erase({rule.bus, rule.name});
  PublishLocked();
  if (on_change_) on_change_();
  return json::object();
}

Answer EventBusService::PutTargets(const json& request) {
  auto targets = request.find("Targets");
  if (targets == request.end() || !targets->is_array() || targets->empty() || targets->size() > 10) {
    return Invalid("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1");
  }
  std::lock_guard lock(mutex_);
  auto found = FindRule(request, "Rule");
  if (!found) return tl::unexpected(found.error());
  Rule rule = **found;
  json failed = json::array();
  const std::string lambda_prefix = "arn:aws:lambda:" + options_.region + ":" + options_.account_id + ":function:";
  const std::string sqs_prefix = "arn:aws:sqs:" + options_.region + ":" + options_.account_id + ":";
  for (const json& entry : *targets) {
    if (!entry.is_object()) return Invalid("Each target must be an object.");
    Target target = Target::FromJson(entry);
    auto fail = [&](const std::string& code, const std::string& message) {
      failed.push_back({{"TargetId", target.id}, {"ErrorCode", code}, {"ErrorMessage", message}});
    };
    if (!ValidName(target.id, 64)) {
      return Invalid("1 validation error detected: Value at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+");
    }
    if (!target.arn.starts_with(lambda_prefix) && !target.arn.starts_with(sqs_prefix)) {
      fail("ValidationException",
           "lambent delivers to Lambda functions and SQS queues of this region and account; not to " + target.arn);
      continue;
    }
    int inputs = int(target.input.has_value()) + int(target.input_path.has_value()) + int(target.input_transformer.has_value());
    if (inputs > 1) {
      fail("ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided.");
      continue;
    }
    if (target.input && json::parse(*target.input, nullptr, false).is_discarded()) {
      fail("ValidationException", "Input is not valid JSON text.");
      continue;
    }
    if (target.input_transformer &&
        !(target.input_transformer->contains("InputTemplate") && (*target.input_transformer)["InputTemplate"].is_string())) {
      fail("ValidationException", "InputTransformer needs an InputTemplate.");
      continue;
    }
    auto same = std::find_if(rule.targets.begin(), rule.targets.end(), [&](const Target& t) { return t.id == target.id; });
    if (same != rule.targets.end()) {
      *same = std::move(target);
    } else if (rule.targets.size() >= kMaxTargetsPerRule) {
      return Fail("LimitExceededException", "The requested resource exceeds the maximum number allowed.");
    } else {
      rule.targets.push_back(std::move(target));
    }
  }
  if (auto saved = Save(rule); !saved) return saved;
  **found = rule;
  PublishLocked();
  if (on_change_) on_change_();
  return json{{"FailedEntryCount", failed.size()}, {"FailedEntries", failed}};
}

Answer EventBusService::ListTargetsByRule(const json& request) {
  std::lock_guard lock(mutex_);
  auto found = FindRule(request, "Rule");
  if (!found) return tl::unexpected(found.error());
  json list = json::array();
  for (const Target& target : (*found)->targets) list.push_back(target.ToJson());
  return json{{"Targets", list}};
}

Answer EventBusService::RemoveTargets(const json& request) {
  auto ids = request.find("Ids");
  if (ids == request.end() || !ids->is_array() || ids->empty() || ids->size() > 100) {
    return Invalid("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100");
  }
  std::lock_guard lock(mutex_);
  auto found = FindRule(request, "Rule");
  if (!found) return tl::unexpected(found.error());
  Rule rule = **found;
  for (const json& id : *ids) {
    if (!id.is_string()) return Invalid("Ids must be strings.");
    std::erase_if(rule.targets, [&](const Target& t) { return t.id == id.get<std::string>(); });
  }
  if (auto saved = Save(rule); !saved) return saved;
  **found = rule;
  PublishLocked();
  if (on_change_) on_change_();
  return json{{"FailedEntryCount", 0}, {"FailedEntries", json::array()}};
}

Answer EventBusService::ListRuleNamesByTarget(const json& request) {
  auto arn = Text(request, "TargetArn");
  if (!arn) return Invalid("1 validation error detected: Value null at 'targetArn' failed to satisfy constraint: Member must not be null");
  std::string bus = BusName(Text(request, "EventBusName").value_or(""));
  std::lock_guard lock(mutex_);
  json names = json::array();
  for (const auto& [key, rule] : rules_) {
    if (key.first != bus) continue;
    if (std::any_of(rule.targets.begin(), rule.targets.end(), [&](const Target& t) { return t.arn == *arn; })) {
      names.push_back(rule.name);
    }
  }
  return json{{"RuleNames", names}};
}

Answer EventBusService::CreateEventBus(const json& request) {
  auto name = Text(request, "Name");
  if (!name || !ValidName(*name, 256, true)) {
    return Invalid("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+");
  }
  if (*name == kDefaultBus || name->starts_with("aws.")) {
    return Invalid(fmt::format("Event bus name {} is reserved.", *name));
  }
  if (request.contains("EventSourceName")) return Invalid("Partner event sources are not supported by lambent.");
  std::lock_guard lock(mutex_);
  if (buses_.contains(*name)) return Fail("ResourceAlreadyExistsException", fmt::format("Event bus {} already exists.", *name));
  Bus bus{*name, Now()};
  if (auto ok = store_.PutBus(bus); !ok) return Fail("InternalException", ok.error().message());
  buses_[*name] = bus;
  PublishLocked();
  if (on_change_) on_change_();
  return json{{"EventBusArn", BusArn(options_.region, options_.account_id, *name)}};
}

Answer EventBusService::DescribeEventBus(const json& request) {
  std::string name = BusName(Text(request, "Name").value_or(""));
  std::lock_guard lock(mutex_);
  if (name != kDefaultBus && !buses_.contains(name)) {
    return Fail("ResourceNotFoundException", fmt::format("Event bus {} does not exist.", name));
  }
  return json{{"Name", name}, {"Arn", BusArn(options_.region, options_.account_id, name)}};
}

Answer EventBusService::DeleteEventBus(const json& request) {
  auto name = Text(request, "Name");
  if (!name) return Invalid("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
  std::string bus = BusName(*name);
  if (bus == kDefaultBus) return Invalid("Cannot delete event bus default.");
  std::lock_guard lock(mutex_);
  if (!buses_.contains(bus)) return json::object();
  if (auto ok = store_.DeleteBus(bus); !ok) return Fail("InternalException", ok.error().message());
  buses_.erase(bus);
  std::erase_if(rules_, [&](const auto& entry) { return entry.first.first == bus; });
  PublishLocked();
  if (on_change_) on_change_();
  return json::object();
}

Answer EventBusService::ListEventBuses(const json& request) {
  auto paging = ParsePaging(request);
  if (!paging) return tl::unexpected(paging.error());
  std::string prefix = Text(request, "NamePrefix").value_or("");
  std::lock_guard lock(mutex_);
  std::vector<std::string> names{kDefaultBus};
  for (const auto& [name, bus] : buses_) names.push_back(name);
  std::sort(names.begin(), names.end());
  json list = json::array();
  std::string last;
  bool more = false;
  for (const std::string& name : names) {
    if (!paging->after.empty() && name <= paging->after) continue;
    if (!name.starts_with(prefix)) continue;
    if (list.size() == paging->limit) {
      more = true;
      break;
    }
    list.push_back({{"Name", name}, {"Arn", BusArn(options_.region, options_.account_id, name)}});
    last = name;
  }
  json out{{"EventBuses", list}};
  if (more) out["NextToken"] = Base64Encode(last);
  return out;
}

Answer EventBusService::TestEventPattern(const json& request) {
  auto pattern_text = Text(request, "EventPattern");
  auto event_text = Text(request, "Event");
  if (!pattern_text || !event_text) return Invalid("EventPattern and Event are required.");
  auto pattern = EventPattern::Parse(*pattern_text);
  if (!pattern) return Fail("InvalidEventPatternException", pattern.error().message());
  json event = json::parse(*event_text, nullptr, false);
  if (!event.is_object()) return Invalid("Parameter Event is not valid.");
  for (const char* field : {"id", "account", "source", "time", "region", "detail-type"}) {
    if (!event.contains(field)) return Invalid(fmt::format("Parameter Event is not valid: it has no {}.", field));
  }
  return json{{"Result", pattern->Matches(event)}};
}

}  // namespace lambent::eventbridge
