#include "metering/usage_query.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <charconv>
#include <ctime>
#include <map>
#include <tuple>

#include "async/sqlite_statement.h"
#include "base/json.h"

namespace lambent::metering {

using async::SqliteError;
using async::Statement;
using nlohmann::json;

void UsageFigures::Add(const UsageFigures& o) {
  requests += o.requests;
  errors += o.errors;
  throttles += o.throttles;
  cold_starts += o.cold_starts;
  billed_ms += o.billed_ms;
  init_billed_ms += o.init_billed_ms;
  on_demand_mb_ms += o.on_demand_mb_ms;
  provisioned_mb_ms += o.provisioned_mb_ms;
  provisioned_concurrency_mb_ms += o.provisioned_concurrency_mb_ms;
}

namespace {

using GroupKey = std::tuple<std::string, std::string, std::string>;  // day, function, version

// The three key columns each table's rows are grouped by; a column the grouping does not use
// is the same empty text in every row.
const char* KeyColumns(UsageGrouping by) {
  switch (by) {
    case UsageGrouping::kDay:
      return "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch'), '', ''";
    case UsageGrouping::kFunction:
      return "'', function, ''";
    case UsageGrouping::kVersion:
      return "'', function, version";
    case UsageGrouping::kTotal:
      break;
  }
  return "'', '', ''";
}

// Runs `select` (key columns first, then `values` integers) over one table and adds each
// row into `groups` through `add`.
template <typename Add>
Result<void> Collect(sqlite3* db, const std::string& sql, const UsageQuery& query,
                     std::map<GroupKey, UsageFigures>& groups, Add add) {
  Statement statement;
  if (auto ok = statement.Prepare(db, sql.c_str()); !ok) return ok;
  statement.BindInt(1, query.since_ms);
  statement.BindInt(2, query.until_ms);
  statement.BindText(3, query.function);
  statement.BindText(4, query.version);
  while (true) {
    int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, "query usage"));
    GroupKey key{std::string(statement.Text(0)), std::string(statement.Text(1)),
                 std::string(statement.Text(2))};
    add(groups[key], statement);
  }
  return Ok();
}

bool ParseInt(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string FormatIso(int64_t epoch_ms) {
  std::time_t seconds = std::time_t(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(epoch_ms % 1000));
}

json FiguresJson(const UsageFigures& f, const PriceTable& prices) {
  UsageCost cost = Cost(f, prices);
  return json{{"requests", f.requests},
              {"errors", f.errors},
              {"throttles", f.throttles},
              {"cold_starts", f.cold_starts},
              {"billed_ms", f.billed_ms},
              {"init_billed_ms", f.init_billed_ms},
              {"gb_seconds", GbSeconds(f.on_demand_mb_ms + f.provisioned_mb_ms)},
              {"on_demand_gb_seconds", GbSeconds(f.on_demand_mb_ms)},
              {"provisioned_gb_seconds", GbSeconds(f.provisioned_mb_ms)},
              {"provisioned_concurrency_gb_seconds", GbSeconds(f.provisioned_concurrency_mb_ms)},
              {"mb_ms",
               {{"on_demand", f.on_demand_mb_ms},
                {"provisioned", f.provisioned_mb_ms},
                {"provisioned_concurrency", f.provisioned_concurrency_mb_ms}}},
              {"cost",
               {{"requests", cost.requests},
                {"duration", cost.duration},
                {"provisioned_duration", cost.provisioned_duration},
                {"provisioned_concurrency", cost.provisioned_concurrency},
                {"total", cost.total}}}};
}

}  // namespace

Result<UsageReport> QueryUsage(sqlite3* db, const UsageQuery& query) {
  const std::string keys = KeyColumns(query.by);
  const std::string where =
      " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 = '' OR function = ?3) AND (?4 = '' OR "
      "version = ?4)"
      " GROUP BY 1, 2, 3";
  std::map<GroupKey, UsageFigures> groups;
  auto invocations =
      Collect(db,
              "SELECT " + keys +
                  ", COUNT(*), SUM(outcome <> 'success'), SUM(init_ms IS NOT NULL), SUM(billed_ms),"
                  " SUM(init_billed_ms), SUM(CASE WHEN provisioned THEN 0 ELSE mb_ms END),"
                  " SUM(CASE WHEN provisioned THEN mb_ms ELSE 0 END) FROM invocations" +
                  where,
              query, groups, [](UsageFigures& f, const Statement& row) {
                f.requests += row.Int(3);
                f.errors += row.Int(4);
                f.cold_starts += row.Int(5);
                f.billed_ms += row.Int(6);
                f.init_billed_ms += row.Int(7);
                f.on_demand_mb_ms += row.Int(8);
                f.provisioned_mb_ms += row.Int(9);
              });
  if (!invocations) return tl::unexpected(invocations.error());
  auto throttles =
      Collect(db, "SELECT " + keys + ", COUNT(*) FROM throttles" + where, query, groups,
              [](UsageFigures& f, const Statement& row) { f.throttles += row.Int(3); });
  if (!throttles) return tl::unexpected(throttles.error());
  auto provisioned = Collect(
      db, "SELECT " + keys + ", SUM(mb_ms) FROM provisioned" + where, query, groups,
      [](UsageFigures& f, const Statement& row) { f.provisioned_concurrency_mb_ms += row.Int(3); });
  if (!provisioned) return tl::unexpected(provisioned.error());

  UsageReport report;
  for (auto& [key, figures] : groups) {
    report.totals.Add(figures);
    if (query.by == UsageGrouping::kTotal) continue;
    report.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), figures});
  }
  return report;
}

Result<int64_t> ParseUsageTime(std::string_view text, int64_t now_ms) {
  auto invalid = [&] {
    return tl::unexpected(
        Error::Invalid(fmt::format("'{}' is not a time: give epoch milliseconds, YYYY-MM-DD, "
                                   "YYYY-MM-DDTHH:MM[:SS][Z] (UTC) or an age "
                                   "such as 90s, 15m, 2h, 7d",
                                   ValidUtf8(text))));
  };
  int64_t value = 0;
  if (ParseInt(text, value)) return value;
  if (text.size() >= 2 && ParseInt(text.substr(0, text.size() - 1), value) && value >= 0) {
    int64_t unit_ms = 0;
    switch (text.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60 * 1000;
        break;
      case 'h':
        unit_ms = 3600 * 1000;
        break;
      case 'd':
        unit_ms = 86400 * 1000;
        break;
      default:
        return invalid();
    }
    if (value > now_ms / unit_ms) return int64_t(0);
    return now_ms - value * unit_ms;
  }
  // YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]
  if (text.ends_with('Z')) text.remove_suffix(1);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  auto field = [&](size_t pos, size_t len, int& out) {
    int64_t v = 0;
    if (pos + len > text.size() || !ParseInt(text.substr(pos, len), v)) return false;
    out = int(v);
    return true;
  };
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !field(0, 4, year) ||
      !field(5, 2, month) || !field(8, 2, day)) {
    return invalid();
  }
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != ' ') || text.size() < 16 || text[13] != ':' ||
        !field(11, 2, hour) || !field(14, 2, minute)) {
      return invalid();
    }
    if (text.size() > 16) {
      if (text[16] != ':' || !field(17, 2, second)) return invalid();
      if (text.size() > 19) {
        if (text[19] != '.' || text.size() != 23 || !field(20, 3, millis)) return invalid();
      }
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return invalid();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return int64_t(timegm(&tm)) * 1000 + millis;
}

Result<UsageGrouping> ParseGrouping(std::string_view text) {
  if (text.empty()) return UsageGrouping::kTotal;
  if (text == "day") return UsageGrouping::kDay;
  if (text == "function") return UsageGrouping::kFunction;
  if (text == "version") return UsageGrouping::kVersion;
  return tl::unexpected(
      Error::Invalid(fmt::format("by='{}': give day, function or version", ValidUtf8(text))));
}

const char* GroupingName(UsageGrouping by) {
  switch (by) {
    case UsageGrouping::kDay:
      return "day";
    case UsageGrouping::kFunction:
      return "function";
    case UsageGrouping::kVersion:
      return "version";
    case UsageGrouping::kTotal:
      break;
  }
  return "total";
}

json UsageJson(const UsageQuery& query, const UsageReport& report, const PriceTable& prices) {
  json rows = json::array();
  for (const auto& row : report.rows) {
    json entry = FiguresJson(row.figures, prices);
    if (query.by == UsageGrouping::kDay) entry["day"] = row.day;
    if (query.by == UsageGrouping::kFunction || query.by == UsageGrouping::kVersion) {
      entry["function"] = row.function;
    }
    if (query.by == UsageGrouping::kVersion) entry["version"] = row.version;
    rows.push_back(std::move(entry));
  }
  json body{{"by", GroupingName(query.by)},
            {"since", query.since_ms > 0 ? json(FormatIso(query.since_ms)) : json(nullptr)},
            {"until", query.until_ms < std::numeric_limits<int64_t>::max()
                          ? json(FormatIso(query.until_ms))
                          : json(nullptr)},
            {"function", query.function.empty() ? json(nullptr) : json(query.function)},
            {"version", query.version.empty() ? json(nullptr) : json(query.version)},
            {"prices", PricesJson(prices)},
            {"rows", std::move(rows)},
            {"totals", FiguresJson(report.totals, prices)}};
  return body;
}

}  // namespace lambent::metering
