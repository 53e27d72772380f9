#include "logs/log_lines.h"

#include <vector>

#include "base/clock.h"

namespace lambent::logs {

Result<std::string> SelectLines(telemetry::LogStore& store, const std::string& function, int64_t since_ms,
                                const FilterPattern& pattern, size_t tail, bool timestamps) {
  auto events = store.Events(function, since_ms);
  if (!events) return tl::unexpected(events.error());
  std::vector<const telemetry::LogEvent*> lines;
  for (const auto& event : *events) {
    if (pattern.Matches(event.message)) lines.push_back(&event);
  }
  size_t from = tail == 0 || tail >= lines.size() ? 0 : lines.size() - tail;
  std::string text;
  for (size_t i = from; i < lines.size(); ++i) {
    // The same form as the plain read's: "2024-01-01T00:00:00.000Z " before the line.
    if (timestamps) text += FormatLambdaTimestamp(lines[i]->timestamp).substr(0, 23) + "Z ";
    text += lines[i]->message;
    text += '\n';
  }
  return text;
}

}  // namespace lambent::logs
