#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace lambent::eventbridge {

// A rule's ScheduleExpression, as EventBridge reads it:
// - `rate(N unit)`: every N minutes, hours or days (singular unit exactly when N is 1),
//   counted from the rule's anchor (when it was created or last enabled).
// - `cron(minutes hours day-of-month month day-of-week year)`, UTC, one-minute
//   granularity. Lists `,`, ranges `-`, steps `/`, `*`; month names JAN-DEC and day names
//   SUN-SAT (1 is Sunday); exactly one of day-of-month and day-of-week is `?`.
//   Day-of-month takes `L` (last day), `LW` (last weekday) and `nW` (the weekday nearest
//   the nth, within the month); day-of-week takes `nL` (the last such day of the month) and
//   `n#k` (the kth such day). Years 1970-2199.
class ScheduleExpression {
 public:
  // kInvalidArgument with EventBridge's message for anything else.
  static Result<ScheduleExpression> Parse(std::string_view text);

  // The first firing strictly after `after_ms` (epoch ms), or nullopt when there is none
  // (a cron whose years have passed). `anchor_ms` is when a rate schedule started.
  std::optional<int64_t> NextAfter(int64_t after_ms, int64_t anchor_ms) const;
  // The next `count` firings after `after_ms`.
  std::vector<int64_t> Next(int64_t after_ms, int64_t anchor_ms, int count) const;

  bool is_rate() const { return rate_ms_ > 0; }
  int64_t rate_ms() const { return rate_ms_; }
  const std::string& text() const { return text_; }

 private:
  // Day-of-month / day-of-week specials that depend on the month.
  struct DaySpecials {
    bool last_day = false;         // L
    bool last_weekday = false;     // LW
    std::vector<int> nearest_weekday;  // nW
    std::vector<int> last_of_week;     // nL: weekday 1-7
    std::vector<std::pair<int, int>> nth_of_week;  // n#k: (weekday 1-7, k)
  };

  bool DayMatches(int year, int month, int day) const;

  std::string text_;
  int64_t rate_ms_ = 0;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1-31
  std::bitset<13> months_;         // 1-12
  std::bitset<8> days_of_week_;    // 1-7, 1 = Sunday
  std::bitset<231> years_;         // 1970-2200
  bool day_of_month_any_ = false;  // `?` in day-of-month: day-of-week decides
  DaySpecials specials_;
};

}  // namespace lambent::eventbridge
