#include "cli/status_command.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "base/json.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using nlohmann::json;

namespace {

// A number from a document that may hold null, a string or nothing where a number is expected.
std::optional<double> Number(const json& doc, const char* key) {
  if (!doc.is_object()) return std::nullopt;
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

int64_t Count(const json& doc, const char* key) { return int64_t(Number(doc, key).value_or(0)); }

std::string Text(const json& doc, const char* key) {
  if (!doc.is_object()) return {};
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One function version's line of the table.
struct Row {
  std::string function;
  std::string version;
  json figures;  // busy, idle, ... as the daemon gives them
  std::optional<int64_t> reserved;
  std::optional<int64_t> provisioned_requested;
  std::string provisioned_status;
};

std::optional<int64_t> OptionalCount(const json& doc, const char* key) {
  auto n = Number(doc, key);
  if (!n) return std::nullopt;
  return int64_t(*n);
}

// Versions sort as Lambda lists them: $LATEST, then by number.
bool VersionBefore(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& v) -> std::pair<int, long long> {
    if (v == "$LATEST") return {0, 0};
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 18) {
      return {1, std::stoll(v)};
    }
    return {2, 0};
  };
  auto ra = rank(a), rb = rank(b);
  return ra != rb ? ra < rb : a < b;
}

std::vector<Row> Rows(const json& functions,
                      std::map<std::string, std::vector<std::string>>* aliases) {
  std::vector<Row> rows;
  if (functions.is_array()) {
    for (const auto& entry : functions) {
      Row row{Text(entry, "function"),
              Text(entry, "version"),
              entry,
              OptionalCount(entry, "reserved_concurrency"),
              OptionalCount(entry, "provisioned_concurrency"),
              Text(entry, "provisioned_status")};
      if (row.version.empty()) row.version = "$LATEST";
      rows.push_back(std::move(row));
    }
  } else if (functions.is_object()) {
    for (const auto& [name, entry] : functions.items()) {
      auto reserved = OptionalCount(entry, "reserved_concurrency");
      std::vector<std::string> versions;
      const json versions_doc =
          entry.is_object() ? entry.value("versions", json::object()) : json::object();
      for (const auto& [version, figures] : versions_doc.items()) versions.push_back(version);
      std::sort(versions.begin(), versions.end(), VersionBefore);
      // A function with nothing live still shows, so that its settings do.
      if (versions.empty()) versions.push_back("$LATEST");
      for (const auto& version : versions) {
        json figures = versions_doc.value(version, json::object());
        auto requested = OptionalCount(figures, "provisioned_requested");
        if (!requested) requested = OptionalCount(figures, "provisioned_concurrency");
        rows.push_back(
            {name, version, figures, reserved, requested, Text(figures, "provisioned_status")});
      }
      if (entry.is_object() && entry.contains("aliases") && entry["aliases"].is_object()) {
        for (const auto& [alias, target] : entry["aliases"].items()) {
          std::string line = fmt::format("{} -> {}", alias, Text(target, "version"));
          if (auto weight = Number(target, "additional_weight");
              weight && !Text(target, "additional_version").empty()) {
            line +=
                fmt::format(" ({:.4g}% to {})", *weight * 100, Text(target, "additional_version"));
          }
          (*aliases)[name].push_back(std::move(line));
        }
      }
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.function != b.function ? a.function < b.function : VersionBefore(a.version, b.version);
  });
  return rows;
}

std::string Milliseconds(const json& figures, const char* key, const char* alternative) {
  auto ms = Number(figures, key);
  if (!ms) ms = Number(figures, alternative);
  return ms ? fmt::format("{:.3g}", *ms) : "-";
}

// What a pool does when every environment is busy, and what it holds now.
std::string ScalingLine(const std::string& pool_name, const json& pool) {
  return fmt::format("{:<14} {}: {} busy, {} idle, {} starting, {} waiting; {}\n", "scaling",
                     pool_name, Count(pool, "busy"), Count(pool, "idle"), Count(pool, "starting"),
                     Count(pool, "queued"), Text(pool, "policy"));
}

void FormatHost(const json& host, std::string& out) {
  int64_t budget = Count(host, "memory_budget_mb"), in_use = Count(host, "memory_in_use_mb");
  if (budget > 0) {
    out += fmt::format(
        "{:<14} {} of {} MB budget in use ({}%), {} idle environment(s) evicted for room\n",
        "memory", in_use, budget, in_use * 100 / budget, Count(host, "evictions"));
  } else {
    out += fmt::format("{:<14} {} MB in use, no budget\n", "memory", in_use);
  }
  std::string unreserved;
  if (auto left = OptionalCount(host, "unreserved_concurrency")) {
    unreserved = fmt::format(", {} unreserved", *left);
  }
  out += fmt::format("{:<14} {} running of {}{} (at least {} kept unreserved)\n", "concurrency",
                     Count(host, "running"), Count(host, "concurrency_limit"), unreserved,
                     Count(host, "unreserved_floor"));
  if (host.contains("environments")) {
    out += fmt::format("{:<14} {} ({} prestarted)\n", "environments", Count(host, "environments"),
                       Count(host, "prestarted"));
  } else {
    out += fmt::format("{:<14} {}\n", "prestarted", Count(host, "prestarted"));
  }
}

void FormatFunctions(const json& functions, std::string& out) {
  std::map<std::string, std::vector<std::string>> aliases;
  auto rows = Rows(functions, &aliases);
  if (rows.empty()) return;
  out += fmt::format(
      "\n{:<28} {:<8} {:>4} {:>4} {:>4} {:>5} {:>5} {:>8} {:>15} {:>9} {:>5} {:>7} {:>7} {:>7}\n",
      "FUNCTION", "VERSION", "BUSY", "IDLE", "PROV", "START", "QUEUE", "RESERVED", "PROVISIONED",
      "THROTTLES", "COLD", "MEMORY", "WARM_MS", "COLD_MS");
  std::vector<std::string> policies;
  for (const auto& row : rows) {
    std::string provisioned = "-";
    if (row.provisioned_requested) {
      provisioned = row.provisioned_status.empty()
                        ? std::to_string(*row.provisioned_requested)
                        : fmt::format("{} {}", *row.provisioned_requested, row.provisioned_status);
    }
    const json& f = row.figures;
    out += fmt::format(
        "{:<28} {:<8} {:>4} {:>4} {:>4} {:>5} {:>5} {:>8} {:>15} {:>9} {:>5} {:>4} MB "
        "{:>7} {:>7}\n",
        row.function, row.version, Count(f, "busy"), Count(f, "idle"), Count(f, "provisioned"),
        Count(f, "starting"), Count(f, "queued"),
        row.reserved ? std::to_string(*row.reserved) : "-", provisioned, Count(f, "throttles"),
        Count(f, "cold_starts"), Count(f, "memory_mb"), Milliseconds(f, "warm_ms", "warm"),
        Milliseconds(f, "cold_start_ms", "cold_ms"));
    // As the health resource names pools: "name" for $LATEST, "name:version" for the others.
    std::string pool = row.version == "$LATEST" ? row.function : row.function + ":" + row.version;
    if (std::string policy = Text(f, "policy"); !policy.empty()) {
      policies.push_back(ScalingLine(pool, f));
    }
    if (std::string reason = Text(f, "provisioned_reason"); !reason.empty()) {
      policies.push_back(fmt::format("{:<14} {}: provisioned concurrency FAILED: {}\n",
                                     "provisioning", pool, reason));
    }
  }
  for (const auto& [function, lines] : aliases) {
    for (const auto& line : lines) out += fmt::format("{:<14} {}: {}\n", "alias", function, line);
  }
  if (!policies.empty() || !aliases.empty()) out += "\n";
  for (const auto& line : policies) out += line;
}

// A daemon without /lambent/v1/status: its health's "scaling", by function (or
// "function:version"), or a list of entries that name their function.
void FormatHealthScaling(const json& scaling, std::string& out) {
  auto line = [&](const std::string& name, const json& pool) { out += ScalingLine(name, pool); };
  if (scaling.is_object()) {
    for (const auto& [name, pool] : scaling.items()) line(name, pool);
  } else if (scaling.is_array()) {
    for (const auto& pool : scaling) {
      std::string name = Text(pool, "function");
      if (std::string version = Text(pool, "version"); !version.empty() && version != "$LATEST") {
        name += ":" + version;
      }
      line(name, pool);
    }
  }
}

}  // namespace

std::string FormatStatus(const std::string& endpoint, const json& health, const json& account,
                         const json& status) {
  std::string out = fmt::format("{:<14} {} ({})\n", "daemon", endpoint,
                                health.is_object() ? health.value("status", "unknown") : "unknown");
  if (account.is_object()) {
    json usage = account.value("AccountUsage", json::object());
    out += fmt::format("{:<14} {} ({} bytes of code)\n", "functions", Count(usage, "FunctionCount"),
                       Count(usage, "TotalCodeSize"));
  }
  if (status.is_object()) {
    FormatHost(status.value("host", json::object()), out);
    FormatFunctions(status.value("functions", json()), out);
    return out;
  }
  // An older daemon: whatever its health reports, as it names it.
  if (!health.is_object()) return out;
  for (const auto& [key, value] : health.items()) {
    if (key == "status") continue;
    if (key == "scaling") {
      FormatHealthScaling(value, out);
      continue;
    }
    out += fmt::format("{:<14} {}\n", key,
                       value.is_string() ? value.get<std::string>() : DumpJson(value));
  }
  return out;
}

int Status(const std::string& endpoint) {
  using http::beast_http::verb;
  auto health = Request(endpoint, verb::get, "/lambent/v1/health");
  if (!health.reached) return 2;
  if (!Ok(health.response)) return Failed(health.response);
  json account;
  if (auto call = Request(endpoint, verb::get, "/2016-08-19/account-settings");
      call.reached && Ok(call.response)) {
    account = Document(call.response);
  }
  json status;
  auto call = Request(endpoint, verb::get, "/lambent/v1/status");
  if (!call.reached) return 2;
  if (Ok(call.response)) {
    status = Document(call.response);
  } else if (call.response.result_int() != 404) {
    return Failed(call.response);
  }
  std::cout << FormatStatus(endpoint, Document(health.response), account, status);
  return 0;
}

}  // namespace lambent::cli
