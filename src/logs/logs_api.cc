#include "logs/logs_api.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/json.h"
#include "logs/filter_pattern.h"

namespace lambent::logs {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::string_view kTargetPrefix = "Logs_20140328.";
// A page of events stays under CloudWatch's 1 MB answer.
constexpr size_t kPageBytes = 1'000'000;
// A follow chain (see FilterLogEvents) ends after this long, so a client that only looked
// like a follower cannot page forever; a real follower sleeps 5 s and starts another.
constexpr int64_t kPollChainMs = 5 * 60'000;

struct Failure {
  std::string type;
  std::string message;
};

LogsAnswer Fail(std::string type, std::string message) {
  return {400, json{{"__type", std::move(type)}, {"message", std::move(message)}}};
}
LogsAnswer Invalid(std::string message) { return Fail("InvalidParameterException", std::move(message)); }
LogsAnswer NoGroup() { return Fail("ResourceNotFoundException", "The specified log group does not exist."); }

// The functions whose lines `group` holds (/aws/lambda/NAME, or a LoggingConfig.LogGroup);
// empty: lambent keeps functions' groups only.
std::vector<std::string> FunctionsOf(const LogsDeps& deps, const std::string& group) {
  return deps.store.FunctionsOf(group);
}

bool HasLog(const LogsDeps& deps, const std::vector<std::string>& functions) {
  auto logs = deps.store.Functions();
  return std::any_of(functions.begin(), functions.end(),
                     [&](const auto& f) { return std::binary_search(logs.begin(), logs.end(), f); });
}

// The events of a group's functions at or after `since_ms`, oldest first (merged by time
// where several functions share a group); nullopt when none of them has a log.
std::optional<std::vector<telemetry::LogEvent>> GroupEvents(const LogsDeps& deps,
                                                            const std::vector<std::string>& functions,
                                                            int64_t since_ms) {
  std::optional<std::vector<telemetry::LogEvent>> all;
  for (const auto& function : functions) {
    auto events = deps.store.Events(function, since_ms);
    if (!events) continue;
    if (!all) {
      all = std::move(*events);
      continue;
    }
    std::vector<telemetry::LogEvent> merged;
    merged.reserve(all->size() + events->size());
    std::merge(std::make_move_iterator(all->begin()), std::make_move_iterator(all->end()),
               std::make_move_iterator(events->begin()), std::make_move_iterator(events->end()),
               std::back_inserter(merged), [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
    *all = std::move(merged);
  }
  return all;
}

// The streams of a group's functions, by name; nullopt when none of them has a log.
std::optional<std::vector<telemetry::LogStreamInfo>> GroupStreams(const LogsDeps& deps,
                                                                  const std::vector<std::string>& functions) {
  std::optional<std::vector<telemetry::LogStreamInfo>> all;
  for (const auto& function : functions) {
    auto streams = deps.store.Streams(function);
    if (!streams) continue;
    if (!all) all.emplace();
    all->insert(all->end(), std::make_move_iterator(streams->begin()), std::make_move_iterator(streams->end()));
  }
  if (all && functions.size() > 1) {
    std::sort(all->begin(), all->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  return all;
}

std::string GroupArn(const LogsDeps& deps, std::string_view group) {
  return fmt::format("arn:aws:logs:{}:{}:log-group:{}", deps.region, deps.account_id, group);
}

std::optional<int64_t> Integer(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::string Text(const json& request, const char* key) {
  auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The group a request names (logGroupName, or logGroupIdentifier as a name or an ARN).
std::string GroupName(const json& request) {
  std::string group = Text(request, "logGroupName");
  if (group.empty()) {
    group = Text(request, "logGroupIdentifier");
    if (auto at = group.find(":log-group:"); at != std::string::npos) {
      group = group.substr(at + 11);
      if (group.ends_with(":*")) group.resize(group.size() - 2);
    }
  }
  return group;
}

std::optional<int64_t> Limit(const json& request, int64_t most, LogsAnswer& error) {
  auto limit = Integer(request, "limit");
  if (!limit) return most;
  if (*limit < 1 || *limit > most) {
    error = Invalid(fmt::format("limit must be between 1 and {}", most));
    return std::nullopt;
  }
  return limit;
}

// A stable id per event: its time, and a hash of its stream, text and rank among the events
// of the same millisecond, so that a re-read gives the same id (`aws logs tail` drops the
// events it has seen by id).
std::string EventId(const telemetry::LogEvent& event, size_t rank) {
  size_t hash = std::hash<std::string>{}(event.stream) * 31 + std::hash<std::string>{}(event.message);
  return fmt::format("{:020}{:016x}{:04}", event.timestamp, hash, rank % 10000);
}

json EventJson(const telemetry::LogEvent& event, size_t rank, bool with_stream) {
  json out{{"timestamp", event.timestamp}, {"message", event.message + "\n"}, {"ingestionTime", event.timestamp}};
  if (with_stream) {
    out["logStreamName"] = event.stream;
    out["eventId"] = EventId(event, rank);
  }
  return out;
}

bool HasStream(const LogsDeps& deps, const std::vector<std::string>& functions, const std::string& stream) {
  auto streams = GroupStreams(deps, functions);
  if (!streams) return false;
  return std::any_of(streams->begin(), streams->end(), [&](const auto& s) { return s.name == stream; });
}

LogsAnswer DescribeLogGroups(const LogsDeps& deps, const json& request) {
  LogsAnswer error;
  auto limit = Limit(request, 50, error);
  if (!limit) return error;
  std::string prefix = Text(request, "logGroupNamePrefix");
  std::string after = Text(request, "nextToken");
  // Several functions may share a custom group: one entry each group, in name order.
  std::map<std::string, std::vector<std::string>> by_group;
  for (const auto& function : deps.store.Functions()) by_group[deps.store.GroupOf(function)].push_back(function);
  json groups = json::array();
  std::string next;
  for (const auto& [group, functions] : by_group) {
    if (!group.starts_with(prefix) || (!after.empty() && group <= after)) continue;
    if (int64_t(groups.size()) == *limit) {
      next = groups.back()["logGroupName"];
      break;
    }
    int64_t created = 0;
    for (const auto& function : functions) {
      int64_t oldest = deps.store.OldestTime(function);
      if (oldest > 0 && (created == 0 || oldest < created)) created = oldest;
    }
    json entry{{"logGroupName", group},
               {"creationTime", created},
               {"metricFilterCount", 0},
               {"arn", GroupArn(deps, group) + ":*"},
               {"logGroupArn", GroupArn(deps, group)},
               {"storedBytes", 0}};
    if (auto days = deps.store.Retention(functions.front())) entry["retentionInDays"] = *days;
    groups.push_back(std::move(entry));
  }
  json answer{{"logGroups", std::move(groups)}};
  if (!next.empty()) answer["nextToken"] = next;
  return {200, std::move(answer)};
}

LogsAnswer DescribeLogStreams(const LogsDeps& deps, const json& request) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (functions.empty()) return NoGroup();
  LogsAnswer error;
  auto limit = Limit(request, 50, error);
  if (!limit) return error;
  std::string order = Text(request, "orderBy");
  if (order.empty()) order = "LogStreamName";
  if (order != "LogStreamName" && order != "LastEventTime") {
    return Invalid("orderBy must be LogStreamName or LastEventTime");
  }
  std::string prefix = Text(request, "logStreamNamePrefix");
  if (!prefix.empty() && order == "LastEventTime") {
    return Invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  bool descending = request.value("descending", false);
  auto streams = GroupStreams(deps, functions);
  if (!streams) return NoGroup();
  std::vector<telemetry::LogStreamInfo> list;
  for (auto& s : *streams) {
    if (s.name.starts_with(prefix)) list.push_back(std::move(s));
  }
  if (order == "LastEventTime") {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.last_event < b.last_event; });
  }
  if (descending) std::reverse(list.begin(), list.end());
  // The token is the position in this order: streams come and go, a position is good enough.
  size_t from = 0;
  if (std::string token = Text(request, "nextToken"); !token.empty()) {
    from = size_t(std::strtoull(token.c_str(), nullptr, 10));
  }
  json out = json::array();
  size_t end = std::min(list.size(), from + size_t(*limit));
  for (size_t i = from; i < end; ++i) {
    const auto& s = list[i];
    out.push_back({{"logStreamName", s.name},
                   {"creationTime", s.first_event},
                   {"firstEventTimestamp", s.first_event},
                   {"lastEventTimestamp", s.last_event},
                   {"lastIngestionTime", s.last_event},
                   {"arn", GroupArn(deps, GroupName(request)) + ":log-stream:" + s.name},
                   {"storedBytes", 0}});
  }
  json answer{{"logStreams", std::move(out)}};
  if (end < list.size()) answer["nextToken"] = std::to_string(end);
  return {200, std::move(answer)};
}

LogsAnswer GetLogEvents(const LogsDeps& deps, const json& request) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (functions.empty()) return NoGroup();
  std::string stream = Text(request, "logStreamName");
  if (stream.empty()) return Invalid("logStreamName is required");
  LogsAnswer error;
  auto limit = Limit(request, 10000, error);
  if (!limit) return error;
  int64_t start = Integer(request, "startTime").value_or(0);
  int64_t end_time = Integer(request, "endTime").value_or(INT64_MAX);
  auto all = GroupEvents(deps, functions, start);
  if (!all) return NoGroup();
  std::vector<telemetry::LogEvent> events;
  for (auto& e : *all) {
    if (e.stream == stream && e.timestamp < end_time) events.push_back(std::move(e));
  }
  if (events.empty() && !HasStream(deps, functions, stream)) {
    return Fail("ResourceNotFoundException", "The specified log stream does not exist.");
  }
  // Tokens are positions among the stream's events: "f/<next>" reads on from one, "b/<first>"
  // back from one. At the end the forward token comes back unchanged, which is how the AWS
  // CLI knows to stop.
  size_t n = events.size(), from, to;
  std::string token = Text(request, "nextToken");
  if (token.size() > 2 && token[0] == 'f' && token[1] == '/') {
    from = std::min(n, size_t(std::strtoull(token.c_str() + 2, nullptr, 10)));
    to = std::min(n, from + size_t(*limit));
  } else if (token.size() > 2 && token[0] == 'b' && token[1] == '/') {
    to = std::min(n, size_t(std::strtoull(token.c_str() + 2, nullptr, 10)));
    from = to - std::min(to, size_t(*limit));
  } else if (!token.empty()) {
    return Invalid("The specified nextToken is invalid.");
  } else if (request.value("startFromHead", false)) {
    from = 0;
    to = std::min(n, size_t(*limit));
  } else {
    to = n;
    from = n - std::min(n, size_t(*limit));
  }
  json out = json::array();
  size_t bytes = 0;
  for (size_t i = from; i < to; ++i) {
    bytes += events[i].message.size() + 26;
    if (bytes > kPageBytes && i > from) {
      to = i;
      break;
    }
    out.push_back(EventJson(events[i], 0, false));
  }
  return {200, json{{"events", std::move(out)},
                    {"nextForwardToken", fmt::format("f/{:056}", to)},
                    {"nextBackwardToken", fmt::format("b/{:056}", from)}}};
}

// Where a FilterLogEvents page ended: after `skip` events of millisecond `time`. A follow
// chain's token ('p') also carries when the chain began.
struct FilterToken {
  bool poll = false;
  int64_t chain_start = 0;
  int64_t time = 0;
  size_t skip = 0;
};

std::string Encode(const FilterToken& t) {
  return fmt::format("{}{}/{}/{}", t.poll ? 'p' : 'n', t.chain_start, t.time, t.skip);
}

std::optional<FilterToken> Decode(const std::string& text) {
  FilterToken t;
  char mode = 0;
  long long chain = 0, time = 0;
  unsigned long long skip = 0;
  if (std::sscanf(text.c_str(), "%c%lld/%lld/%llu", &mode, &chain, &time, &skip) != 4 || (mode != 'p' && mode != 'n')) {
    return std::nullopt;
  }
  t.poll = mode == 'p';
  t.chain_start = chain;
  t.time = time;
  t.skip = size_t(skip);
  return t;
}

LogsAnswer FilterLogEvents(const LogsDeps& deps, const json& request, bool last_try) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (functions.empty()) return NoGroup();
  LogsAnswer error;
  auto limit = Limit(request, 10000, error);
  if (!limit) return error;
  std::vector<std::string> names;
  if (auto it = request.find("logStreamNames"); it != request.end() && it->is_array()) {
    for (const auto& name : *it) {
      if (name.is_string()) names.push_back(name.get<std::string>());
    }
  }
  std::string prefix = Text(request, "logStreamNamePrefix");
  if (!names.empty() && !prefix.empty()) {
    return Invalid("logStreamNames and logStreamNamePrefix are mutually exclusive");
  }
  auto pattern = FilterPattern::Parse(Text(request, "filterPattern"));
  if (!pattern) return Invalid(pattern.error().message());
  auto start = Integer(request, "startTime");
  auto end_time = Integer(request, "endTime");
  std::optional<FilterToken> token;
  if (std::string text = Text(request, "nextToken"); !text.empty()) {
    token = Decode(text);
    if (!token) return Invalid("The specified nextToken is invalid.");
  }
  int64_t since = std::max(start.value_or(0), token ? token->time : 0);
  auto all = GroupEvents(deps, functions, since);
  if (!all) return NoGroup();
  json out = json::array();
  size_t bytes = 0;
  FilterToken next{token && token->poll, token ? token->chain_start : 0, token ? token->time : since, 0};
  bool more = false;
  int64_t rank_time = -1;
  size_t rank = 0, skipped = 0;
  for (const auto& event : *all) {
    // The rank among the millisecond's events is over every event, so that ids do not depend
    // on the filter.
    rank = event.timestamp == rank_time ? rank + 1 : 0;
    rank_time = event.timestamp;
    if (end_time && event.timestamp >= *end_time) break;
    if (!names.empty() && std::find(names.begin(), names.end(), event.stream) == names.end()) continue;
    if (!event.stream.starts_with(prefix)) continue;
    if (!pattern->Matches(event.message)) continue;
    if (token && event.timestamp == token->time && skipped < token->skip) {
      ++skipped;
      continue;
    }
    bytes += event.message.size() + event.stream.size() + 100;
    if (int64_t(out.size()) == *limit || (bytes > kPageBytes && !out.empty())) {
      more = true;
      break;
    }
    out.push_back(EventJson(event, rank, true));
    if (event.timestamp == next.time) {
      ++next.skip;
    } else {
      next.time = event.timestamp;
      next.skip = 1;
    }
  }
  if (token && next.time == token->time && out.empty()) next.skip = token->skip;
  else if (token && next.time == token->time) next.skip += token->skip;
  json answer{{"events", json::array()}, {"searchedLogStreams", json::array()}};
  int64_t now = NowEpochMs();
  if (!more && !end_time) {
    // The end of what is there. `aws logs tail --follow` asks again at once while it gets a
    // token and sleeps 5 s when it does not, so it follows within a second only while it
    // gets tokens; a one-off read must get none here or it would page forever. The follower
    // is known by how it asks after its sleep: interleaved, no token, from the time of the
    // newest event it has (so what comes first is an event of exactly that millisecond).
    // Such a request starts a chain of tokens, which long-polls for new lines.
    bool follower = !token && start && request.value("interleaved", false) && !all->empty() &&
                    all->front().timestamp == *start;
    if (follower) {
      next.poll = true;
      next.chain_start = now;
    }
    if (next.poll && now - next.chain_start < kPollChainMs) {
      if (out.empty() && !last_try) return {200, json::object(), true};
      more = true;
    }
  }
  answer["events"] = std::move(out);
  if (more) answer["nextToken"] = Encode(next);
  return {200, std::move(answer)};
}

// CloudWatch's allowed retention periods, in days.
constexpr int kRetentionDays[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                  365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

LogsAnswer PutRetentionPolicy(const LogsDeps& deps, const json& request) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (!HasLog(deps, functions)) return NoGroup();
  auto days = Integer(request, "retentionInDays");
  if (!days || std::find(std::begin(kRetentionDays), std::end(kRetentionDays), *days) == std::end(kRetentionDays)) {
    return Invalid("1 validation error detected: Value at 'retentionInDays' failed to satisfy constraint: Member "
                   "must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, "
                   "1096, 1827, 2192, 2557, 2922, 3288, 3653]");
  }
  for (const auto& function : functions) deps.store.SetRetention(function, int(*days));
  return {200, json::object()};
}

LogsAnswer DeleteRetentionPolicy(const LogsDeps& deps, const json& request) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (!HasLog(deps, functions)) return NoGroup();
  for (const auto& function : functions) deps.store.SetRetention(function, std::nullopt);
  return {200, json::object()};
}

LogsAnswer CreateLogGroup(const LogsDeps& deps, const json& request) {
  std::string group = GroupName(request);
  auto functions = FunctionsOf(deps, group);
  if (functions.empty()) {
    return Invalid(
        "lambent keeps the log groups of Lambda functions only: /aws/lambda/<function name>, or the "
        "LoggingConfig.LogGroup of a function");
  }
  if (HasLog(deps, functions)) {
    return Fail("ResourceAlreadyExistsException", "The specified log group already exists");
  }
  for (const auto& function : functions) deps.store.Touch(function);
  return {200, json::object()};
}

LogsAnswer DeleteLogGroup(const LogsDeps& deps, const json& request) {
  auto functions = FunctionsOf(deps, GroupName(request));
  if (!HasLog(deps, functions)) return NoGroup();
  for (const auto& function : functions) deps.store.Remove(function);
  return {200, json::object()};
}

}  // namespace

LogsAnswer CallLogsOperation(const LogsDeps& deps, const std::string& operation, const json& request,
                             bool last_try) {
  if (operation == "DescribeLogGroups") return DescribeLogGroups(deps, request);
  if (operation == "DescribeLogStreams") return DescribeLogStreams(deps, request);
  if (operation == "GetLogEvents") return GetLogEvents(deps, request);
  if (operation == "FilterLogEvents") return FilterLogEvents(deps, request, last_try);
  if (operation == "PutRetentionPolicy") return PutRetentionPolicy(deps, request);
  if (operation == "DeleteRetentionPolicy") return DeleteRetentionPolicy(deps, request);
  if (operation == "CreateLogGroup") return CreateLogGroup(deps, request);
  if (operation == "DeleteLogGroup") return DeleteLogGroup(deps, request);
  return Fail("UnknownOperationException", "lambent does not serve the CloudWatch Logs operation " + operation);
}

bool ClaimsLogsRequest(const http::RequestHeader& header) {
  auto target = header.find("X-Amz-Target");
  return target != header.end() && std::string_view(target->value()).starts_with(kTargetPrefix);
}

namespace {

http::Response ToResponse(const LogsAnswer& answer) {
  return http::MakeResponse(answer.status, DumpJson(answer.body), "application/x-amz-json-1.1");
}

// A follow poll that found nothing is asked again every 200 ms for up to a second, so a new
// line reaches the follower at once and an idle one costs a read a few times a second.
struct Poll {
  LogsDeps deps;
  std::string operation;
  json request;
  http::Responder respond;
  int tries_left = 5;
  std::unique_ptr<asio::steady_timer> timer;
};

void Run(std::shared_ptr<Poll> poll) {
  LogsAnswer answer;
  try {
    answer = CallLogsOperation(poll->deps, poll->operation, poll->request, poll->tries_left == 0);
  } catch (const std::exception& e) {
    answer = Fail("ServiceUnavailableException", e.what());
    answer.status = 500;
  }
  if (!answer.poll_wait) return poll->respond(ToResponse(answer));
  --poll->tries_left;
  if (!poll->timer) poll->timer = std::make_unique<asio::steady_timer>(poll->deps.io);
  poll->timer->expires_after(std::chrono::milliseconds(200));
  poll->timer->async_wait([poll](boost::system::error_code ec) {
    if (ec) return poll->respond(ToResponse(Fail("ServiceUnavailableException", "shutting down")));
    asio::post(poll->deps.workers, [poll] { Run(poll); });
  });
}

}  // namespace

void HandleLogsRequest(const LogsDeps& deps, http::Request request, http::Responder respond) {
  try {
    std::string_view target_header = request["X-Amz-Target"];
    std::string operation(target_header.substr(kTargetPrefix.size()));
    json body = request.body().empty() ? json::object() : json::parse(request.body(), nullptr, false);
    if (!body.is_object()) {
      return respond(ToResponse(Fail("SerializationException", "The request body is not a JSON object.")));
    }
    auto poll = std::make_shared<Poll>(Poll{deps, std::move(operation), std::move(body), std::move(respond)});
    asio::post(deps.workers, [poll] { Run(poll); });
  } catch (const std::exception& e) {
    spdlog::error("logs request: {}", e.what());
    if (respond.connected()) respond(ToResponse(Fail("ServiceUnavailableException", "internal error")));
  }
}

}  // namespace lambent::logs
