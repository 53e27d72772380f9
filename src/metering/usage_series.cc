#include "metering/usage_series.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>

#include "async/sqlite_statement.h"

namespace lambent::metering {

using async::SqliteError;
using async::Statement;
using nlohmann::json;

namespace {

constexpr const char* kWhere =
    " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 = '' OR function = ?3)"
    " AND (?4 = '' OR version = ?4)";

Result<Statement> Prepare(sqlite3* db, const std::string& sql, const SeriesQuery& query) {
  Statement statement;
  if (auto ok = statement.Prepare(db, sql.c_str()); !ok) return tl::unexpected(ok.error());
  statement.BindInt(1, query.since_ms);
  statement.BindInt(2, query.until_ms);
  statement.BindText(3, query.function);
  statement.BindText(4, query.version);
  return statement;
}

// Nearest rank: the smallest value with at least `fraction` of the values at or below it.
double Percentile(std::vector<double>& values, double fraction) {
  if (values.empty()) return 0;
  size_t rank = size_t(std::max<double>(1.0, std::ceil(fraction * double(values.size()))));
  auto nth = values.begin() + std::ptrdiff_t(rank - 1);
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

}  // namespace

Result<void> ValidateSeriesQuery(const SeriesQuery& query) {
  if (query.step_ms < 1000) return tl::unexpected(Error::Invalid("step: at least 1 second"));
  if (query.until_ms <= query.since_ms) return tl::unexpected(Error::Invalid("since must be before until"));
  if ((query.until_ms - query.since_ms + query.step_ms - 1) / query.step_ms > kMaxSeriesPoints) {
    return tl::unexpected(Error::Invalid(
        fmt::format("at most {} steps: widen the step or narrow the window", kMaxSeriesPoints)));
  }
  return Ok();
}

Result<std::vector<SeriesPoint>> QueryUsageSeries(sqlite3* db, const SeriesQuery& query) {
  if (auto ok = ValidateSeriesQuery(query); !ok) return tl::unexpected(ok.error());
  size_t count = size_t((query.until_ms - query.since_ms + query.step_ms - 1) / query.step_ms);
  std::vector<SeriesPoint> points(count);
  for (size_t i = 0; i < count; ++i) points[i].start_ms = query.since_ms + int64_t(i) * query.step_ms;
  std::vector<std::vector<double>> durations(count);

  auto invocations = Prepare(db,
                             std::string("SELECT time_ms, COALESCE(duration_ms, billed_ms),"
                                         " outcome <> 'success' FROM invocations") +
                                 kWhere,
                             query);
  if (!invocations) return tl::unexpected(invocations.error());
  while (true) {
    int rc = sqlite3_step(invocations->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, "query usage series"));
    size_t i = size_t((invocations->Int(0) - query.since_ms) / query.step_ms);
    points[i].invocations += 1;
    points[i].errors += invocations->Int(2);
    durations[i].push_back(sqlite3_column_double(invocations->get(), 1));
  }
  auto throttles = Prepare(db, std::string("SELECT time_ms FROM throttles") + kWhere, query);
  if (!throttles) return tl::unexpected(throttles.error());
  while (true) {
    int rc = sqlite3_step(throttles->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, "query usage series"));
    points[size_t((throttles->Int(0) - query.since_ms) / query.step_ms)].throttles += 1;
  }
  for (size_t i = 0; i < count; ++i) {
    points[i].p50_ms = Percentile(durations[i], 0.50);
    points[i].p99_ms = Percentile(durations[i], 0.99);
  }
  return points;
}

json SeriesJson(const SeriesQuery& query, const std::vector<SeriesPoint>& points) {
  json list = json::array();
  for (const auto& p : points) {
    list.push_back({{"t", p.start_ms},
                    {"invocations", p.invocations},
                    {"errors", p.errors},
                    {"throttles", p.throttles},
                    {"p50_ms", p.invocations ? json(p.p50_ms) : json(nullptr)},
                    {"p99_ms", p.invocations ? json(p.p99_ms) : json(nullptr)}});
  }
  return json{{"since", query.since_ms},
              {"until", query.until_ms},
              {"step_ms", query.step_ms},
              {"function", query.function.empty() ? json(nullptr) : json(query.function)},
              {"version", query.version.empty() ? json(nullptr) : json(query.version)},
              {"points", std::move(list)}};
}

}  // namespace lambent::metering
