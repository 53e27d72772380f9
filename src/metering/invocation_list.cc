#include "metering/invocation_list.h"

#include <algorithm>

#include "async/sqlite_statement.h"

namespace lambent::metering {

using async::SqliteError;
using async::Statement;

namespace {

constexpr const char* kColumns =
    "SELECT time_ms, function, version, request_id, source, billed_ms, memory_mb, init_ms, "
    "init_billed_ms, provisioned, outcome, error_type, trace_id, COALESCE(duration_ms, billed_ms) "
    "FROM invocations ";

UsageRecord Row(const Statement& row) {
  UsageRecord r;
  r.time_ms = row.Int(0);
  r.function = row.Text(1);
  r.version = row.Text(2);
  r.request_id = row.Text(3);
  r.source = row.Text(4);
  r.billed_ms = row.Int(5);
  r.memory_mb = int(row.Int(6));
  if (sqlite3_column_type(row.get(), 7) != SQLITE_NULL) r.init_ms = sqlite3_column_double(row.get(), 7);
  r.init_billed_ms = row.Int(8);
  r.provisioned = row.Int(9) != 0;
  r.outcome = row.Text(10);
  r.error_type = row.Text(11);
  r.trace_id = row.Text(12);
  r.duration_ms = sqlite3_column_double(row.get(), 13);
  return r;
}

Result<std::vector<UsageRecord>> Rows(sqlite3* db, Statement& statement) {
  std::vector<UsageRecord> rows;
  while (true) {
    int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) return rows;
    if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, "read invocations"));
    rows.push_back(Row(statement));
  }
}

}  // namespace

Result<std::vector<UsageRecord>> QueryRecent(sqlite3* db, const RecentQuery& query) {
  std::string sql = kColumns;
  if (!query.function.empty()) sql += "WHERE function = ?1 ";
  if (!query.function.empty() && !query.version.empty()) sql += "AND version = ?2 ";
  sql += "ORDER BY time_ms DESC LIMIT ?3";
  Statement statement;
  if (auto ok = statement.Prepare(db, sql.c_str()); !ok) return tl::unexpected(ok.error());
  if (!query.function.empty()) statement.BindText(1, query.function);
  if (!query.version.empty()) statement.BindText(2, query.version);
  statement.BindInt(3, std::max(0, query.limit));
  return Rows(db, statement);
}

Result<std::optional<UsageRecord>> FindInvocation(sqlite3* db, const std::string& request_id, int64_t since_ms,
                                                  int64_t until_ms) {
  std::string sql = std::string(kColumns) +
                    "INDEXED BY invocations_by_time WHERE time_ms BETWEEN ?2 AND ?3 AND request_id = ?1 "
                    "ORDER BY time_ms DESC LIMIT 1";
  Statement statement;
  if (auto ok = statement.Prepare(db, sql.c_str()); !ok) return tl::unexpected(ok.error());
  statement.BindText(1, request_id);
  statement.BindInt(2, since_ms);
  statement.BindInt(3, until_ms);
  auto rows = Rows(db, statement);
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return std::optional<UsageRecord>();
  return std::optional<UsageRecord>(std::move(rows->front()));
}

}  // namespace lambent::metering
