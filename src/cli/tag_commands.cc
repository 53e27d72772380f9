// `lambent tag`, `untag` and `tags`: Lambda's TagResource, UntagResource and ListTags, which
// take the function's ARN; the commands take its name and look the ARN up.
#include <iostream>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "cli/api_client.h"
#include "cli/commands.h"

namespace lambent::cli {

using http::beast_http::verb;
using nlohmann::json;

namespace {

constexpr const char* kTags = "/2017-03-31/tags";

// The tags path of a function given by name or ARN, or the exit code when it cannot be had.
std::variant<std::string, int> TagsPath(const std::string& endpoint, const std::string& function) {
  if (function.starts_with("arn:")) return fmt::format("{}/{}", kTags, Escape(function));
  auto call = Request(endpoint, verb::get, FunctionPath(function));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::string arn =
      Document(call.response).value("Configuration", json::object()).value("FunctionArn", "");
  if (arn.empty()) {
    std::cerr << "lambent: the daemon did not give the function's ARN\n";
    return 1;
  }
  return fmt::format("{}/{}", kTags, Escape(arn));
}

}  // namespace

int Tag(const std::string& endpoint, const std::string& function,
        const std::vector<std::string>& tags) {
  json map = json::object();
  for (const auto& kv : tags) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "lambent: tags are KEY=VALUE (VALUE may be empty), got '" << kv << "'\n";
      return 2;
    }
    map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto path = TagsPath(endpoint, function);
  if (auto* code = std::get_if<int>(&path)) return *code;
  auto call =
      Request(endpoint, verb::post, std::get<std::string>(path), DumpJson(json{{"Tags", map}}));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << fmt::format("tagged {} ({} tag{})\n", function, map.size(),
                           map.size() == 1 ? "" : "s");
  return 0;
}

int Untag(const std::string& endpoint, const std::string& function,
          const std::vector<std::string>& keys) {
  auto path = TagsPath(endpoint, function);
  if (auto* code = std::get_if<int>(&path)) return *code;
  std::string target = std::get<std::string>(path);
  char separator = '?';
  for (const auto& key : keys) {
    target += fmt::format("{}tagKeys={}", separator, Escape(key));
    separator = '&';
  }
  auto call = Request(endpoint, verb::delete_, target);
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << fmt::format("untagged {} ({} key{})\n", function, keys.size(),
                           keys.size() == 1 ? "" : "s");
  return 0;
}

int Tags(const std::string& endpoint, const std::string& function, bool json_output) {
  auto path = TagsPath(endpoint, function);
  if (auto* code = std::get_if<int>(&path)) return *code;
  auto call = Request(endpoint, verb::get, std::get<std::string>(path));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  json tags = Document(call.response).value("Tags", json::object());
  if (json_output) {
    std::cout << tags.dump(2) << "\n";
    return 0;
  }
  // KEY=VALUE, as `lambent tag` takes them; nlohmann's object iterates keys in order.
  for (const auto& [key, value] : tags.items()) {
    std::cout << key << "=" << (value.is_string() ? value.get<std::string>() : value.dump())
              << "\n";
  }
  return 0;
}

}  // namespace lambent::cli
