// `lambent publish`, `lambent versions` and `lambent alias`: Lambda's PublishVersion,
// ListVersionsByFunction and the alias operations.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

// One line of a table: its padding stops at the last column with text.
std::string TrimEnd(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return line + "\n";
}

// "VERSION=WEIGHT" as RoutingConfig: WEIGHT is a share of calls, 0-1 (or a percentage such as
// 10%). Prints why not and returns nullopt.
std::optional<json> RoutingFromFlag(const std::string& flag) {
  auto eq = flag.find('=');
  std::string version = flag.substr(0, eq);
  std::string weight_text = eq == std::string::npos ? "" : flag.substr(eq + 1);
  bool percent = weight_text.ends_with('%');
  if (percent) weight_text.pop_back();
  char* end = nullptr;
  double weight = weight_text.empty() ? -1 : std::strtod(weight_text.c_str(), &end);
  if (percent) weight /= 100;
  if (version.empty() || version.find_first_not_of("0123456789") != std::string::npos ||
      end == nullptr || *end != '\0' || !(weight >= 0 && weight <= 1)) {
    std::cerr << fmt::format(
        "lambent: --weight wants VERSION=WEIGHT, a published version and the share of calls "
        "it gets (0-1, or a percentage), e.g. --weight 2=0.1; got '{}'\n",
        flag);
    return std::nullopt;
  }
  return json{{"AdditionalVersionWeights", {{version, weight}}}};
}

std::string DescribeRouting(const json& alias) {
  std::string out = alias.value("FunctionVersion", "");
  auto routing = alias.value("RoutingConfig", json::object())
                     .value("AdditionalVersionWeights", json::object());
  for (const auto& [version, weight] : routing.items()) {
    if (!weight.is_number()) continue;
    double share = weight.get<double>();
    out = fmt::format("{} ({:.4g}%), {} ({:.4g}%)", alias.value("FunctionVersion", ""),
                      (1 - share) * 100, version, share * 100);
  }
  return out;
}

void PrintAlias(const json& alias) {
  std::cout << fmt::format("{} -> {}{}{}\n", alias.value("Name", ""), DescribeRouting(alias),
                           alias.value("Description", "").empty() ? "" : "  ",
                           alias.value("Description", ""));
  std::cout << fmt::format("  arn {}\n  revision {}\n", alias.value("AliasArn", ""),
                           alias.value("RevisionId", ""));
}

}  // namespace

int Publish(const std::string& endpoint, const PublishOptions& o) {
  json body = json::object();
  if (!o.description.empty()) body["Description"] = o.description;
  if (!o.code_sha256.empty()) body["CodeSha256"] = o.code_sha256;
  if (!o.revision_id.empty()) body["RevisionId"] = o.revision_id;
  auto call = Request(endpoint, verb::post, FunctionPath(o.function) + "/versions", DumpJson(body));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  auto doc = Document(call.response);
  // Lambda answers an unchanged $LATEST with the version that already has it.
  std::cout << fmt::format("published {} version {} (sha256 {}, revision {})\n",
                           doc.value("FunctionName", o.function), doc.value("Version", "?"),
                           doc.value("CodeSha256", ""), doc.value("RevisionId", ""));
  return 0;
}

int Versions(const std::string& endpoint, const std::string& function, bool json_output) {
  int exit_code = 0;
  auto versions = ListAll(endpoint, FunctionPath(function) + "/versions", "Versions", &exit_code);
  if (!versions) return exit_code;
  if (json_output) {
    std::cout << versions->dump(2) << "\n";
    return 0;
  }
  // Which aliases point at each version, and with what share of the calls.
  std::map<std::string, std::vector<std::string>> aliases_of;
  if (auto aliases =
          ListAll(endpoint, FunctionPath(function) + "/aliases", "Aliases", &exit_code)) {
    for (const auto& alias : *aliases) {
      std::string name = alias.value("Name", "");
      auto routing = alias.value("RoutingConfig", json::object())
                         .value("AdditionalVersionWeights", json::object());
      double extra = 0;
      for (const auto& [version, weight] : routing.items()) {
        if (!weight.is_number()) continue;
        extra = weight.get<double>();
        aliases_of[version].push_back(fmt::format("{} ({:.4g}%)", name, extra * 100));
      }
      aliases_of[alias.value("FunctionVersion", "")].push_back(
          extra > 0 ? fmt::format("{} ({:.4g}%)", name, (1 - extra) * 100) : name);
    }
  } else {
    return exit_code;
  }
  std::cout << TrimEnd(fmt::format("{:<8} {:<28} {:<12} {:>7} {:>7}  {:<24} {}", "VERSION",
                                   "LAST MODIFIED", "SHA256", "MEMORY", "TIMEOUT", "ALIASES",
                                   "DESCRIPTION"));
  for (const auto& v : *versions) {
    std::string version = v.value("Version", "");
    std::string aliases;
    for (const auto& a : aliases_of[version]) aliases += (aliases.empty() ? "" : ", ") + a;
    std::cout << TrimEnd(fmt::format(
        "{:<8} {:<28} {:<12} {:>4} MB {:>5} s  {:<24} {}", version, v.value("LastModified", ""),
        v.value("CodeSha256", "").substr(0, 12), v.value("MemorySize", 0), v.value("Timeout", 0),
        aliases.empty() ? "-" : aliases, v.value("Description", "")));
  }
  return 0;
}

int Alias(const std::string& endpoint, const AliasOptions& o) {
  std::string aliases_path = FunctionPath(o.function) + "/aliases";
  std::string alias_path = aliases_path + "/" + Escape(o.alias);
  if (o.action == "list") {
    int exit_code = 0;
    auto aliases = ListAll(endpoint, aliases_path, "Aliases", &exit_code);
    if (!aliases) return exit_code;
    if (o.json_output) {
      std::cout << aliases->dump(2) << "\n";
      return 0;
    }
    std::cout << TrimEnd(fmt::format("{:<24} {:<36} {}", "ALIAS", "VERSION", "DESCRIPTION"));
    for (const auto& alias : *aliases) {
      std::cout << TrimEnd(fmt::format("{:<24} {:<36} {}", alias.value("Name", ""),
                                       DescribeRouting(alias), alias.value("Description", "")));
    }
    return 0;
  }
  if (o.alias.empty()) {
    std::cerr << fmt::format("lambent: alias {} needs FUNCTION and ALIAS\n", o.action);
    return 2;
  }
  if (o.action == "get") {
    auto call = Request(endpoint, verb::get, alias_path);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    if (o.json_output) {
      std::cout << Document(call.response).dump(2) << "\n";
    } else {
      PrintAlias(Document(call.response));
    }
    return 0;
  }
  if (o.action == "delete") {
    std::string target = alias_path;
    if (!o.revision_id.empty()) target += "?RevisionId=" + Escape(o.revision_id);
    auto call = Request(endpoint, verb::delete_, target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    std::cout << fmt::format("deleted alias {} of {}\n", o.alias, o.function);
    return 0;
  }
  json body = json::object();
  if (!o.version.empty()) body["FunctionVersion"] = o.version;
  if (o.description) body["Description"] = *o.description;
  if (!o.weight.empty()) {
    auto routing = RoutingFromFlag(o.weight);
    if (!routing) return 2;
    body["RoutingConfig"] = std::move(*routing);
  } else if (o.no_weight) {
    body["RoutingConfig"] = {{"AdditionalVersionWeights", json::object()}};
  }
  Call call;
  if (o.action == "create") {
    if (o.version.empty()) {
      std::cerr << "lambent: alias create needs --version N (a published version; `lambent "
                   "publish` makes one)\n";
      return 2;
    }
    body["Name"] = o.alias;
    call = Request(endpoint, verb::post, aliases_path, DumpJson(body));
  } else if (o.action == "update") {
    if (!o.revision_id.empty()) body["RevisionId"] = o.revision_id;
    call = Request(endpoint, verb::put, alias_path, DumpJson(body));
  } else {
    std::cerr << fmt::format("lambent: unknown alias action '{}'\n", o.action);
    return 2;
  }
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << (o.action == "create" ? "created " : "updated ");
  PrintAlias(Document(call.response));
  return 0;
}

}  // namespace lambent::cli
