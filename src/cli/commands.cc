#include "cli/commands.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "code/zip_writer.h"
#include "http/client.h"
#include "base/json.h"

namespace lambent::cli {

namespace beast_http = http::beast_http;
using beast_http::verb;
using nlohmann::json;

namespace {

constexpr const char* kFunctions = "/2015-03-31/functions";

// A request to the daemon; prints why when it cannot be reached.
struct Call {
  bool reached = false;
  http::Response response;
};

Call Request(const std::string& endpoint, verb method, const std::string& target, std::string body = {},
             const std::map<std::string, std::string>& headers = {}) {
  auto parsed = http::ParseEndpoint(endpoint);
  if (!parsed) {
    std::cerr << "lambent: " << parsed.error().message() << "\n";
    return {};
  }
  auto response = http::Fetch(*parsed, method, target, std::move(body), headers);
  if (!response) {
    std::cerr << fmt::format("lambent: cannot reach the daemon at {} ({}); is `lambent serve` running?\n",
                             endpoint, response.error().message());
    return {};
  }
  return {true, std::move(*response)};
}

// Prints an API error as "lambent: Type: message" and returns 1.
int Failed(const http::Response& response) {
  auto body = json::parse(response.body(), nullptr, false);
  std::string type = std::string(response["x-amzn-ErrorType"]);
  std::string message = body.is_object() ? body.value("message", response.body()) : response.body();
  std::cerr << fmt::format("lambent: {}{}{}\n", type, type.empty() ? "" : ": ", message);
  return 1;
}

bool Ok(const http::Response& response) { return response.result_int() / 100 == 2; }

}  // namespace

int Deploy(const std::string& endpoint, const DeployOptions& o) {
  auto zip = code::ZipDirectory(o.dir);
  if (!zip) {
    std::cerr << "lambent: cannot package " << o.dir << ": " << zip.error().message() << "\n";
    return 1;
  }
  json config = json::object();
  if (!o.runtime.empty()) config["Runtime"] = o.runtime;
  if (!o.handler.empty()) config["Handler"] = o.handler;
  if (!o.description.empty()) config["Description"] = o.description;
  if (o.memory_mb) config["MemorySize"] = o.memory_mb;
  if (o.timeout_s) config["Timeout"] = o.timeout_s;
  if (!o.network.empty()) config["Network"] = o.network;
  if (!o.env.empty()) {
    json vars = json::object();
    for (const auto& kv : o.env) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "lambent: --env wants KEY=VALUE, got '" << kv << "'\n";
        return 2;
      }
      vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    config["Environment"] = {{"Variables", vars}};
  }
  std::string zip_base64 = Base64Encode(*zip);

  json create = config;
  create["FunctionName"] = o.name;
  create["Code"] = {{"ZipFile", zip_base64}};
  auto created = Request(endpoint, verb::post, kFunctions, DumpJson(create));
  if (!created.reached) return 2;
  http::Response* final_response = &created.response;
  http::Response updated;
  if (created.response.result_int() == 409) {
    // The function exists: new code, then the settings given.
    std::string target = fmt::format("{}/{}", kFunctions, o.name);
    auto code = Request(endpoint, verb::put, target + "/code", DumpJson(json{{"ZipFile", zip_base64}}));
    if (!code.reached) return 2;
    if (!Ok(code.response)) return Failed(code.response);
    updated = std::move(code.response);
    if (!config.empty()) {
      auto conf = Request(endpoint, verb::put, target + "/configuration", DumpJson(config));
      if (!conf.reached) return 2;
      if (!Ok(conf.response)) return Failed(conf.response);
      updated = std::move(conf.response);
    }
    final_response = &updated;
  } else if (!Ok(created.response)) {
    return Failed(created.response);
  }
  auto doc = json::parse(final_response->body(), nullptr, false);
  std::cout << fmt::format("{} {} ({}, {}, {} MB, {} s, code {} bytes, sha256 {})\n",
                           created.response.result_int() == 201 ? "created" : "updated",
                           doc.value("FunctionName", o.name), doc.value("Runtime", ""),
                           doc.value("Handler", ""), doc.value("MemorySize", 0), doc.value("Timeout", 0),
                           doc.value("CodeSize", 0), doc.value("CodeSha256", ""));
  return 0;
}

int Invoke(const std::string& endpoint, const InvokeOptions& o) {
  std::string payload = o.payload;
  if (!o.payload_file.empty()) {
    std::ifstream in(o.payload_file, std::ios::binary);
    if (!in) {
      std::cerr << "lambent: cannot read " << o.payload_file << "\n";
      return 2;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    payload = buffer.str();
  }
  std::map<std::string, std::string> headers;
  if (o.log) headers["X-Amz-Log-Type"] = "Tail";
  if (o.async) headers["X-Amz-Invocation-Type"] = "Event";
  std::string target = fmt::format("{}/{}/invocations", kFunctions, o.name);
  if (!o.qualifier.empty()) target += "?Qualifier=" + o.qualifier;
  auto call = Request(endpoint, verb::post, target, std::move(payload), headers);
  if (!call.reached) return 2;
  auto& response = call.response;
  if (!Ok(response)) return Failed(response);
  if (o.async) {
    std::cout << "queued " << response["x-amzn-RequestId"] << "\n";
    return 0;
  }
  if (o.log) {
    auto tail = Base64Decode(std::string(response["X-Amz-Log-Result"]));
    if (tail) std::cerr << *tail;
  }
  std::cout << response.body() << "\n";
  if (response.find("X-Amz-Function-Error") != response.end()) {
    std::cerr << "lambent: the function failed (X-Amz-Function-Error: "
              << response["X-Amz-Function-Error"] << ")\n";
    return 1;
  }
  return 0;
}

int List(const std::string& endpoint, bool json_output) {
  json all = json::array();
  std::string marker;
  do {
    std::string target = std::string(kFunctions) + "/?MaxItems=50";
    if (!marker.empty()) target += "&Marker=" + marker;
    auto call = Request(endpoint, verb::get, target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    auto doc = json::parse(call.response.body(), nullptr, false);
    for (auto& f : doc.value("Functions", json::array())) all.push_back(f);
    marker = doc.value("NextMarker", "");
    // The marker is base64 and may hold '+', '/' and '='.
    std::string escaped;
    for (char c : marker) {
      if (std::isalnum(static_cast<unsigned char>(c))) escaped += c;
      else escaped += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
    marker = escaped;
  } while (!marker.empty());
  if (json_output) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<32} {:<16} {:<24} {:>7} {:>8}  {}\n", "NAME", "RUNTIME", "HANDLER",
                           "MEMORY", "TIMEOUT", "LAST MODIFIED");
  for (const auto& f : all) {
    std::cout << fmt::format("{:<32} {:<16} {:<24} {:>4} MB {:>6} s  {}\n", f.value("FunctionName", ""),
                             f.value("Runtime", ""), f.value("Handler", ""), f.value("MemorySize", 0),
                             f.value("Timeout", 0), f.value("LastModified", ""));
  }
  return 0;
}

int Get(const std::string& endpoint, const std::string& name) {
  auto call = Request(endpoint, verb::get, fmt::format("{}/{}", kFunctions, name));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  auto doc = json::parse(call.response.body(), nullptr, false);
  std::cout << doc.dump(2) << "\n";
  return 0;
}

int Remove(const std::string& endpoint, const std::string& name) {
  auto call = Request(endpoint, verb::delete_, fmt::format("{}/{}", kFunctions, name));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << "deleted " << name << "\n";
  return 0;
}

int Logs(const std::string& endpoint, const std::string& name, size_t tail, bool follow) {
  std::string target = fmt::format("/lambent/v1/functions/{}/logs", name);
  auto call = Request(endpoint, verb::get, tail ? fmt::format("{}?tail={}", target, tail) : target);
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << call.response.body() << std::flush;
  if (!follow) return 0;
  // Follow by polling: the daemon's log is append-only, so the new part is the suffix.
  size_t seen = 0;
  {
    auto all = Request(endpoint, verb::get, target);
    if (!all.reached) return 2;
    seen = all.response.body().size();
  }
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto next = Request(endpoint, verb::get, target);
    if (!next.reached) return 2;
    if (!Ok(next.response)) return Failed(next.response);
    const std::string& body = next.response.body();
    if (body.size() > seen) std::cout << body.substr(seen) << std::flush;
    seen = body.size();
  }
}

int Runtimes(const std::string& endpoint) {
  auto call = Request(endpoint, verb::get, "/lambent/v1/runtimes");
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  auto doc = json::parse(call.response.body(), nullptr, false);
  std::cout << fmt::format("{:<40} {:<10} {}\n", "RUNTIME", "AVAILABLE", "VERSION");
  for (const auto& r : doc.value("Runtimes", json::array())) {
    std::cout << fmt::format("{:<40} {:<10} {}{}\n", r.value("runtime", ""),
                             r.value("available", false) ? "yes" : "no", r.value("version", ""),
                             r.value("interpreter", "").empty() ? "" : " (" + r.value("interpreter", "") + ")");
  }
  return 0;
}

}  // namespace lambent::cli
