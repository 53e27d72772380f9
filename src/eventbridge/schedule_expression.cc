#include "eventbridge/schedule_expression.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace lambent::eventbridge {
namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;
constexpr int64_t kMinuteMs = 60'000;

Error Invalid() { return Error::Invalid("Parameter ScheduleExpression is not valid."); }

std::vector<std::string_view> Split(std::string_view text, char by) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(by, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A number, or a name from `names` (index + `first`), within [lo, hi].
std::optional<int> Value(std::string_view text, int lo, int hi, const std::vector<std::string_view>& names,
                         int first) {
  if (text.empty()) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    std::string upper = Upper(text);
    auto it = std::find(names.begin(), names.end(), upper);
    if (it == names.end()) return std::nullopt;
    value = int(it - names.begin()) + first;
  }
  if (value < lo || value > hi) return std::nullopt;
  return value;
}

const std::vector<std::string_view> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const std::vector<std::string_view> kDays = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
const std::vector<std::string_view> kNoNames;

// One list element of a plain field: `*`, `v`, `a-b`, with an optional `/step`.
template <size_t N>
bool ParseRange(std::string_view part, int lo, int hi, const std::vector<std::string_view>& names, int first,
                std::bitset<N>& bits, int offset = 0) {
  int step = 1;
  bool stepped = false;
  if (auto slash = part.find('/'); slash != std::string_view::npos) {
    auto s = Value(part.substr(slash + 1), 1, hi - lo + 1 + 1000, kNoNames, 0);
    if (!s) return false;
    step = *s;
    stepped = true;
    part = part.substr(0, slash);
  }
  int from = lo;
  int to = hi;
  if (part == "*") {
  } else if (auto dash = part.find('-'); dash != std::string_view::npos) {
    auto a = Value(part.substr(0, dash), lo, hi, names, first);
    auto b = Value(part.substr(dash + 1), lo, hi, names, first);
    if (!a || !b || *a > *b) return false;
    from = *a;
    to = *b;
  } else {
    auto v = Value(part, lo, hi, names, first);
    if (!v) return false;
    from = *v;
    to = stepped ? hi : *v;  // `5/15`: from 5, every 15
  }
  for (int v = from; v <= to; v += step) bits.set(size_t(v - offset));
  return true;
}

template <size_t N>
bool ParseField(std::string_view field, int lo, int hi, const std::vector<std::string_view>& names, int first,
                std::bitset<N>& bits, int offset = 0) {
  for (std::string_view part : Split(field, ',')) {
    if (!ParseRange(part, lo, hi, names, first, bits, offset)) return false;
  }
  return true;
}

int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int year, month, day, hour, minute;
};

Civil CivilFromMs(int64_t ms) {
  int64_t minutes = ms / kMinuteMs;
  int64_t days = minutes / 1440;
  int minute_of_day = int(minutes % 1440);
  // The inverse of DaysFromCivil (Howard Hinnant's algorithm).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  int day = int(doy - (153 * mp + 2) / 5 + 1);
  int month = int(mp < 10 ? mp + 3 : mp - 9);
  int year = int(yoe + era * 400 + (month <= 2));
  return {year, month, day, minute_of_day / 60, minute_of_day % 60};
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDaysIn = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDaysIn[size_t(month - 1)];
}

// 1 = Sunday ... 7 = Saturday, as cron's day-of-week.
int Weekday(int year, int month, int day) {
  int64_t days = DaysFromCivil(year, month, day);
  return int(((days % 7) + 7 + 4) % 7) + 1;  // 1970-01-01 was a Thursday
}

int NearestWeekday(int year, int month, int day) {
  int last = DaysInMonth(year, month);
  int weekday = Weekday(year, month, day);
  if (weekday == 7) return day > 1 ? day - 1 : day + 2;     // Saturday
  if (weekday == 1) return day < last ? day + 1 : day - 2;  // Sunday
  return day;
}

std::optional<int64_t> ParseRate(std::string_view body) {
  auto parts = Split(body, ' ');
  if (parts.size() != 2) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), value);
  if (ec != std::errc() || end != parts[0].data() + parts[0].size() || value <= 0 || value > 1'000'000) {
    return std::nullopt;
  }
  std::string_view unit = parts[1];
  bool plural = unit.ends_with('s');
  if (plural != (value != 1)) return std::nullopt;  // "rate(1 minute)", "rate(5 minutes)"
  if (plural) unit.remove_suffix(1);
  if (unit == "minute") return value * kMinuteMs;
  if (unit == "hour") return value * 60 * kMinuteMs;
  if (unit == "day") return value * 1440 * kMinuteMs;
  return std::nullopt;
}

}  // namespace

Result<ScheduleExpression> ScheduleExpression::Parse(std::string_view text) {
  ScheduleExpression expression;
  expression.text_ = std::string(text);
  if (text.starts_with("rate(") && text.ends_with(")")) {
    auto rate = ParseRate(text.substr(5, text.size() - 6));
    if (!rate) return tl::unexpected(Invalid());
    expression.rate_ms_ = *rate;
    return expression;
  }
  if (!text.starts_with("cron(") || !text.ends_with(")")) return tl::unexpected(Invalid());
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(text.substr(5, text.size() - 6), ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 6) return tl::unexpected(Invalid());
  ScheduleExpression& e = expression;
  if (!ParseField(fields[0], 0, 59, kNoNames, 0, e.minutes_) || !ParseField(fields[1], 0, 23, kNoNames, 0, e.hours_) ||
      !ParseField(fields[3], 1, 12, kMonths, 1, e.months_) ||
      !ParseField(fields[5], kMinYear, kMaxYear, kNoNames, 0, e.years_, kMinYear)) {
    return tl::unexpected(Invalid());
  }
  std::string_view dom = fields[2];
  std::string_view dow = fields[4];
  // Exactly one of the two day fields is `?`.
  if ((dom == "?") == (dow == "?")) return tl::unexpected(Invalid());
  if (dow == "?") {
    for (std::string_view part : Split(dom, ',')) {
      if (part == "L") {
        e.specials_.last_day = true;
      } else if (part == "LW") {
        e.specials_.last_weekday = true;
      } else if (part.size() > 1 && part.ends_with('W')) {
        auto day = Value(part.substr(0, part.size() - 1), 1, 31, kNoNames, 0);
        if (!day) return tl::unexpected(Invalid());
        e.specials_.nearest_weekday.push_back(*day);
      } else if (!ParseRange(part, 1, 31, kNoNames, 0, e.days_of_month_)) {
        return tl::unexpected(Invalid());
      }
    }
  } else {
    e.day_of_month_any_ = true;
    for (std::string_view part : Split(dow, ',')) {
      if (part == "L") {
        e.days_of_week_.set(7);  // alone, L is the last day of the week: Saturday
      } else if (part.size() > 1 && part.ends_with('L')) {
        auto day = Value(part.substr(0, part.size() - 1), 1, 7, kDays, 1);
        if (!day) return tl::unexpected(Invalid());
        e.specials_.last_of_week.push_back(*day);
      } else if (auto hash = part.find('#'); hash != std::string_view::npos) {
        auto day = Value(part.substr(0, hash), 1, 7, kDays, 1);
        auto nth = Value(part.substr(hash + 1), 1, 5, kNoNames, 0);
        if (!day || !nth) return tl::unexpected(Invalid());
        e.specials_.nth_of_week.emplace_back(*day, *nth);
      } else if (!ParseRange(part, 1, 7, kDays, 1, e.days_of_week_)) {
        return tl::unexpected(Invalid());
      }
    }
  }
  return expression;
}

bool ScheduleExpression::DayMatches(int year, int month, int day) const {
  const int last = DaysInMonth(year, month);
  if (day > last) return false;
  if (day_of_month_any_) {
    const int weekday = Weekday(year, month, day);
    if (days_of_week_.test(size_t(weekday))) return true;
    for (int w : specials_.last_of_week) {
      if (w == weekday && day + 7 > last) return true;
    }
    for (auto [w, nth] : specials_.nth_of_week) {
      if (w == weekday && (day - 1) / 7 + 1 == nth) return true;
    }
    return false;
  }
  if (days_of_month_.test(size_t(day))) return true;
  if (specials_.last_day && day == last) return true;
  if (specials_.last_weekday && day == NearestWeekday(year, month, last)) return true;
  for (int n : specials_.nearest_weekday) {
    if (n <= last && day == NearestWeekday(year, month, n)) return true;
  }
  return false;
}

std::optional<int64_t> ScheduleExpression::NextAfter(int64_t after_ms, int64_t anchor_ms) const {
  if (is_rate()) {
    if (after_ms < anchor_ms) return anchor_ms;
    return anchor_ms + ((after_ms - anchor_ms) / rate_ms_ + 1) * rate_ms_;
  }
  // Firings are on whole minutes: the first candidate is the minute after `after_ms`.
  int64_t start_ms = (after_ms >= 0 ? after_ms / kMinuteMs : (after_ms - kMinuteMs + 1) / kMinuteMs) * kMinuteMs +
                     kMinuteMs;
  Civil start = CivilFromMs(std::max<int64_t>(start_ms, 0));
  for (int year = std::max(start.year, kMinYear); year <= kMaxYear; ++year) {
    if (!years_.test(size_t(year - kMinYear))) continue;
    bool same_year = year == start.year;
    for (int month = same_year ? start.month : 1; month <= 12; ++month) {
      if (!months_.test(size_t(month))) continue;
      bool same_month = same_year && month == start.month;
      for (int day = same_month ? start.day : 1; day <= DaysInMonth(year, month); ++day) {
        if (!DayMatches(year, month, day)) continue;
        bool same_day = same_month && day == start.day;
        for (int hour = same_day ? start.hour : 0; hour < 24; ++hour) {
          if (!hours_.test(size_t(hour))) continue;
          bool same_hour = same_day && hour == start.hour;
          for (int minute = same_hour ? start.minute : 0; minute < 60; ++minute) {
            if (!minutes_.test(size_t(minute))) continue;
            return (DaysFromCivil(year, month, day) * 1440 + hour * 60 + minute) * kMinuteMs;
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::vector<int64_t> ScheduleExpression::Next(int64_t after_ms, int64_t anchor_ms, int count) const {
  std::vector<int64_t> times;
  int64_t t = after_ms;
  while (int(times.size()) < count) {
    auto next = NextAfter(t, anchor_ms);
    if (!next) break;
    times.push_back(*next);
    t = *next;
  }
  return times;
}

}  // namespace lambent::eventbridge
