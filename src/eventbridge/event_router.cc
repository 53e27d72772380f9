#include "eventbridge/event_router.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>

#include "base/clock.h"
#include "base/ids.h"
#include "base/json.h"
#include "eventbridge/input_transform.h"
#include "sqs/sqs_message.h"

namespace lambent::eventbridge {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr size_t kMaxEntries = 10;
constexpr size_t kMaxRequestBytes = 256 * 1024;
// The timer looks again at least this often, so a clock step cannot hide a firing for long.
constexpr int64_t kMaxSleepMs = 30'000;

json EntryError(const std::string& code, const std::string& message) {
  return {{"ErrorCode", code}, {"ErrorMessage", message}};
}

}  // namespace

std::string IsoTime(int64_t epoch_ms) {
  std::time_t seconds = std::time_t(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

// What one PutEvents call waits for: every store its events started.
struct EventRouter::Pending {
  json entries = json::array();
  int failed = 0;
  int outstanding = 1;  // the routing itself, until it has started every store
  std::function<void(json)> done;

  void Settle() {
    if (--outstanding > 0) return;
    done(json{{"FailedEntryCount", failed}, {"Entries", std::move(entries)}});
  }
};

EventRouter::EventRouter(asio::io_context& io, EventBusService& service, async::EventSink& sink,
                         async::QueueEngine& queues, RouterOptions options)
    : io_(io), service_(service), sink_(sink), queues_(queues), options_(std::move(options)), timer_(io) {}

EventRouter::~EventRouter() { Stop(); }

int64_t EventRouter::Now() const { return options_.now_ms ? options_.now_ms() : NowEpochMs(); }

void EventRouter::Stop() {
  stopped_ = true;
  timer_.cancel();
}

std::optional<int64_t> EventRouter::NextFiring(const CompiledRule& rule, int64_t after_ms) const {
  if (!rule.schedule || !rule.rule.enabled) return std::nullopt;
  if (rule.schedule->is_rate()) {
    int64_t period = std::max<int64_t>(1, int64_t(std::llround(double(rule.schedule->rate_ms()) * options_.rate_scale)));
    int64_t anchor = rule.rule.anchor_ms;
    if (after_ms < anchor) return anchor + period;
    return anchor + ((after_ms - anchor) / period + 1) * period;
  }
  return rule.schedule->NextAfter(after_ms, rule.rule.anchor_ms);
}

void EventRouter::Reschedule() {
  if (stopped_) return;
  auto snapshot = service_.snapshot();
  const int64_t now = Now();
  std::map<std::string, int64_t> next;
  for (const auto& rule : snapshot->rules) {
    // Keyed by what decides the times, so an unchanged rule keeps a firing that is due.
    std::string key = fmt::format("{}|{}|{}", rule->arn, rule->rule.schedule_expression, rule->rule.anchor_ms);
    if (auto it = next_.find(key); it != next_.end() && rule->rule.enabled) {
      next[key] = it->second;
    } else if (auto when = NextFiring(*rule, now)) {
      next[key] = *when;
    }
  }
  next_ = std::move(next);
  OnTimer();
}

void EventRouter::OnTimer() {
  if (stopped_) return;
  auto snapshot = service_.snapshot();
  const int64_t now = Now();
  int64_t wake = now + kMaxSleepMs;
  for (const auto& rule : snapshot->rules) {
    std::string key = fmt::format("{}|{}|{}", rule->arn, rule->rule.schedule_expression, rule->rule.anchor_ms);
    auto it = next_.find(key);
    if (it == next_.end()) continue;
    if (it->second <= now) {
      Fire(*rule, it->second);
      // Once, however many periods were missed; then the next time after now.
      auto when = NextFiring(*rule, now);
      if (!when) {
        next_.erase(it);
        continue;
      }
      it->second = *when;
    }
    wake = std::min(wake, it->second);
  }
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, wake - now)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) OnTimer();
  });
}

void EventRouter::Fire(const CompiledRule& rule, int64_t scheduled_ms) {
  json event{{"version", "0"},
             {"id", NewRequestId()},
             {"detail-type", "Scheduled Event"},
             {"source", "aws.events"},
             {"account", options_.account_id},
             {"time", IsoTime(scheduled_ms)},
             {"region", options_.region},
             {"resources", json::array({rule.arn})},
             {"detail", json::object()}};
  spdlog::info("rule {} fires ({} target(s))", rule.rule.name, rule.rule.targets.size());
  std::string ingestion = IsoTime(Now());
  for (const Target& target : rule.rule.targets) {
    Deliver(target, TargetInput(target, event, rule.rule.name, rule.arn, ingestion),
            [name = rule.rule.name, id = target.id](bool ok, std::string why) {
              if (!ok) spdlog::warn("rule {} target {}: not delivered: {}", name, id, why);
            });
  }
}

void EventRouter::Deliver(const Target& target, std::string input, std::function<void(bool, std::string)> stored) {
  const std::string lambda_prefix = "arn:aws:lambda:" + options_.region + ":" + options_.account_id + ":function:";
  if (target.arn.starts_with(lambda_prefix)) {
    std::string rest = target.arn.substr(lambda_prefix.size());
    std::string name = rest.substr(0, rest.find(':'));
    std::string qualifier = rest.find(':') == std::string::npos ? "" : rest.substr(rest.find(':') + 1);
    async::AsyncEvent event;
    event.qualifier = qualifier;
    event.invoked_arn = target.arn;
    event.first_enqueued_ms = Now();
    sink_.Enqueue(name, NewRequestId(), std::move(input), std::move(event),
                  [stored = std::move(stored)](Result<void> ok) { stored(bool(ok), ok ? "" : ok.error().message()); });
    return;
  }
  auto queue = sqs::QueueNameFromArn(target.arn, options_.region, options_.account_id);
  if (!queue) return stored(false, "not a target lambent delivers to: " + target.arn);
  auto shared = std::make_shared<std::function<void(bool, std::string)>>(std::move(stored));
  auto sent = sqs::Send(queues_, *queue, std::move(input), {}, options_.account_id,
                        {[ex = io_.get_executor()](std::function<void()> fn) { asio::post(ex, std::move(fn)); },
                         [shared](Result<void> ok) { (*shared)(bool(ok), ok ? "" : ok.error().message()); }});
  if (!sent) (*shared)(false, sent.error().message());
}

void EventRouter::Route(const json& event, const std::string& bus, std::shared_ptr<Pending> pending) {
  auto snapshot = service_.snapshot();
  std::string ingestion = IsoTime(Now());
  size_t index = pending->entries.size() - 1;
  for (const auto& rule : snapshot->rules) {
    if (rule->rule.bus != bus || !rule->rule.enabled || !rule->pattern || !rule->pattern->Matches(event)) continue;
    for (const Target& target : rule->rule.targets) {
      ++pending->outstanding;
      Deliver(target, TargetInput(target, event, rule->rule.name, rule->arn, ingestion),
              [pending, index, name = rule->rule.name, id = target.id](bool ok, std::string why) {
                if (!ok) {
                  spdlog::warn("rule {} target {}: not delivered: {}", name, id, why);
                  json& entry = pending->entries[index];
                  if (!entry.contains("ErrorCode")) {
                    entry = EntryError("InternalFailure", "The event could not be stored for a target: " + why);
                    ++pending->failed;
                  }
                }
                pending->Settle();
              });
    }
  }
}

void EventRouter::PutEvents(const json& request, std::function<void(json)> done) {
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  auto entries = request.find("Entries");
  if (!request.is_object() || entries == request.end() || !entries->is_array() || entries->empty() ||
      entries->size() > kMaxEntries) {
    pending->done(json{{"__type", "ValidationException"},
                       {"message", "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                                   "Member must have length less than or equal to 10 and greater than or equal to 1"}});
    return;
  }
  if (DumpJson(*entries).size() > kMaxRequestBytes) {
    pending->done(json{{"__type", "ValidationException"},
                       {"message", "Total size of the entries in the request is over the limit."}});
    return;
  }
  auto snapshot = service_.snapshot();
  for (const json& entry : *entries) {
    auto text = [&entry](const char* field) -> std::optional<std::string> {
      auto it = entry.is_object() ? entry.find(field) : entry.end();
      if (!entry.is_object() || it == entry.end() || !it->is_string()) return std::nullopt;
      return it->get<std::string>();
    };
    auto fail = [&](const std::string& code, const std::string& message) {
      pending->entries.push_back(EntryError(code, message));
      ++pending->failed;
    };
    auto source = text("Source");
    auto detail_type = text("DetailType");
    auto detail_text = text("Detail");
    if (!source || source->empty()) {
      fail("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
      continue;
    }
    if (!detail_type || detail_type->empty()) {
      fail("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
      continue;
    }
    if (!detail_text) {
      fail("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
      continue;
    }
    json detail = json::parse(*detail_text, nullptr, false);
    if (!detail.is_object()) {
      fail("MalformedDetail", "Detail is malformed.");
      continue;
    }
    std::string bus = service_.BusName(text("EventBusName").value_or(""));
    if (!snapshot->buses.contains(bus)) {
      fail("InvalidArgument", fmt::format("Event bus {} does not exist.", bus));
      continue;
    }
    json resources = json::array();
    if (auto it = entry.find("Resources"); it != entry.end() && it->is_array()) {
      for (const json& r : *it) {
        if (r.is_string()) resources.push_back(r);
      }
    }
    int64_t time_ms = Now();
    if (auto it = entry.find("Time"); it != entry.end() && it->is_number()) time_ms = int64_t(it->get<double>() * 1000);
    std::string id = NewRequestId();
    json event{{"version", "0"},           {"id", id},
               {"detail-type", *detail_type}, {"source", *source},
               {"account", options_.account_id}, {"time", IsoTime(time_ms)},
               {"region", options_.region},  {"resources", resources},
               {"detail", std::move(detail)}};
    pending->entries.push_back(json{{"EventId", id}});
    Route(event, bus, pending);
  }
  pending->Settle();
}

json EventRouter::Rules(int count) const {
  auto snapshot = service_.snapshot();
  const int64_t now = Now();
  json rules = json::array();
  for (const auto& rule : snapshot->rules) {
    json times = json::array();
    int64_t t = now;
    for (int i = 0; i < count && rule->rule.enabled; ++i) {
      auto when = NextFiring(*rule, t);
      if (!when) break;
      times.push_back(IsoTime(*when));
      t = *when;
    }
    json targets = json::array();
    for (const Target& target : rule->rule.targets) targets.push_back(target.arn);
    json entry{{"Name", rule->rule.name},
               {"Arn", rule->arn},
               {"EventBusName", rule->rule.bus},
               {"State", rule->rule.enabled ? "ENABLED" : "DISABLED"},
               {"Targets", targets}};
    if (rule->schedule) {
      entry["ScheduleExpression"] = rule->rule.schedule_expression;
      entry["NextFirings"] = times;
    }
    if (!rule->rule.event_pattern.empty()) entry["EventPattern"] = rule->rule.event_pattern;
    rules.push_back(std::move(entry));
  }
  return json{{"Rules", rules}};
}

}  // namespace lambent::eventbridge
