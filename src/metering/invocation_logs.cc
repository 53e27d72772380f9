#include "metering/invocation_logs.h"

#include <string_view>

namespace lambent::metering {

namespace {

// The environment stamps its lines when they reach the daemon, a little after the runtime
// wrote them and the REPORT's end time was taken: a margin either side of the invocation.
constexpr int64_t kClockMarginMs = 2000;

bool Names(std::string_view message, std::string_view request_id) {
  return message.find(request_id) != std::string_view::npos;
}

// A platform line of the invocation: the text one ("START RequestId: <id> ...") or the JSON
// record ({"type":"platform.start","record":{"requestId":"<id>",...}}).
bool IsPlatformLine(std::string_view message, std::string_view text_prefix, std::string_view json_type,
                    std::string_view request_id) {
  if (message.starts_with(text_prefix)) {
    std::string_view rest = message.substr(text_prefix.size());
    return rest.starts_with(request_id);
  }
  return message.starts_with("{") && message.find(json_type) != std::string_view::npos && Names(message, request_id);
}

}  // namespace

std::vector<telemetry::LogEvent> SelectInvocationLines(const std::vector<telemetry::LogEvent>& events,
                                                       const std::string& request_id) {
  std::vector<telemetry::LogEvent> lines;
  if (request_id.empty()) return lines;
  size_t start = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (IsPlatformLine(events[i].message, "START RequestId: ", "\"platform.start\"", request_id)) {
      start = i;
      break;
    }
  }
  if (start == events.size()) {
    for (const auto& event : events) {
      if (Names(event.message, request_id)) lines.push_back(event);
    }
    return lines;
  }
  const std::string& stream = events[start].stream;
  for (size_t i = start; i < events.size(); ++i) {
    if (events[i].stream != stream) continue;
    lines.push_back(events[i]);
    if (IsPlatformLine(events[i].message, "REPORT RequestId: ", "\"platform.report\"", request_id)) break;
  }
  return lines;
}

Result<std::vector<telemetry::LogEvent>> InvocationLines(telemetry::LogStore& logs, const UsageRecord& record) {
  auto ran_ms = int64_t(record.duration_ms + record.init_ms.value_or(0)) + 1;
  auto events = logs.Events(record.function, record.time_ms - ran_ms - kClockMarginMs);
  if (!events) return tl::unexpected(events.error());
  return SelectInvocationLines(*events, record.request_id);
}

}  // namespace lambent::metering
