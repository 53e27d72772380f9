#include "cli/commands.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/json.h"
#include "cli/api_client.h"
#include "code/zip_writer.h"
#include "http/event_stream.h"

namespace lambent::cli {

namespace beast_http = http::beast_http;
using beast_http::verb;
using nlohmann::json;

namespace {

// The code to upload: a .zip file as it is, or a directory zipped. Prints why not and
// returns nullopt.
std::optional<std::string> PackageCode(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    bool has_file = false;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it); it.increment(ec)) {
      if (!it->is_directory(ec)) {
        has_file = true;
        break;
      }
    }
    if (!has_file) {
      std::cerr << fmt::format(
          "lambent: {} is empty: put the function's code in it (for --handler app.handler, an "
          "app.py or app.js; for provided runtimes, an executable named bootstrap)\n",
          path);
      return std::nullopt;
    }
    auto zip = code::ZipDirectory(path);
    if (!zip) {
      std::cerr << "lambent: cannot package " << path << ": " << zip.error().message() << "\n";
      return std::nullopt;
    }
    return std::move(*zip);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "lambent: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.starts_with("PK\x05\x06")) {
    std::cerr << fmt::format("lambent: {} is an empty zip: there is no code in it to deploy\n", path);
    return std::nullopt;
  }
  // Every zip with something in it starts with a local file header.
  if (!bytes.starts_with("PK\x03\x04")) {
    std::cerr << fmt::format(
        "lambent: {} is not a zip file: deploy takes a directory (zipped for you) or a .zip\n", path);
    return std::nullopt;
  }
  return bytes;
}

// The settings given on the command line, as Lambda's configuration fields; only those.
std::optional<json> ConfigFromFlags(const DeployOptions& o) {
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
        return std::nullopt;
      }
      vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    config["Environment"] = {{"Variables", vars}};
  }
  return config;
}

}  // namespace

int Deploy(const std::string& endpoint, const DeployOptions& o) {
  auto config = ConfigFromFlags(o);
  if (!config) return 2;
  std::string target = fmt::format("{}/{}", kFunctions, o.name);
  auto existing = Request(endpoint, verb::get, target);
  if (!existing.reached) return 2;
  int status = existing.response.result_int();
  if (status != 200 && status != 404) return Failed(existing.response);
  bool create = status == 404;
  if (create && o.runtime.empty()) {
    std::cerr << fmt::format(
        "lambent: {} does not exist yet: creating it needs --runtime (python3.13, nodejs22.x, "
        "provided.al2023, ...; `lambent runtimes` lists them) and, except for provided, "
        "--handler\n",
        o.name);
    return 2;
  }
  auto zip = PackageCode(o.dir);
  if (!zip) return 1;
  std::string zip_base64 = Base64Encode(*zip);

  http::Response final_response;
  if (create) {
    json body = *config;
    body["FunctionName"] = o.name;
    body["Code"] = {{"ZipFile", zip_base64}};
    auto created = Request(endpoint, verb::post, kFunctions, DumpJson(body));
    if (!created.reached) return 2;
    if (!Ok(created.response)) return Failed(created.response);
    final_response = std::move(created.response);
  } else {
    // New code, then only the settings the flags give: the rest stays as it was.
    auto code = Request(endpoint, verb::put, target + "/code", DumpJson(json{{"ZipFile", zip_base64}}));
    if (!code.reached) return 2;
    if (!Ok(code.response)) return Failed(code.response);
    final_response = std::move(code.response);
    if (!config->empty()) {
      auto conf = Request(endpoint, verb::put, target + "/configuration", DumpJson(*config));
      if (!conf.reached) return 2;
      if (!Ok(conf.response)) return Failed(conf.response);
      final_response = std::move(conf.response);
    }
  }
  auto doc = json::parse(final_response.body(), nullptr, false);
  std::cout << fmt::format("{} {} ({}, {}, {} MB, {} s, code {} bytes, sha256 {})\n",
                           create ? "created" : "updated", doc.value("FunctionName", o.name),
                           doc.value("Runtime", ""), doc.value("Handler", ""), doc.value("MemorySize", 0),
                           doc.value("Timeout", 0), doc.value("CodeSize", 0), doc.value("CodeSha256", ""));
  // What runs it here may not be what the runtime id names (python3.13 on a 3.11 host).
  if (auto got = Request(endpoint, verb::get, target); got.reached && Ok(got.response)) {
    auto function = json::parse(got.response.body(), nullptr, false);
    if (function.is_object() && function.contains("HostRuntime") &&
        function["HostRuntime"].contains("Warning")) {
      std::cerr << "lambent: warning: " << function["HostRuntime"].value("Warning", "") << "\n";
    }
  }
  return 0;
}

namespace {

// InvokeWithResponseStream: each PayloadChunk goes to stdout as it arrives; InvokeComplete
// says whether the function failed and carries the log tail.
int InvokeStreaming(const std::string& endpoint, const InvokeOptions& o, std::string payload,
                    std::map<std::string, std::string> headers) {
  // FunctionPath's encoding of NAME, NAME:QUALIFIER or an ARN, under the streaming API's version.
  std::string target = "/2021-11-15" + FunctionPath(o.name).substr(std::string_view("/2015-03-31").size()) +
                       "/response-streaming-invocations";
  if (!o.qualifier.empty()) target += "?Qualifier=" + Escape(o.qualifier);
  http::EventStreamReader reader;
  std::optional<json> complete;
  std::string corrupt;
  auto on_piece = [&](std::string_view piece) {
    reader.Add(piece);
    while (auto next = reader.Next()) {
      if (!*next) {
        corrupt = next->error().message();
        return;
      }
      if ((*next)->type == "PayloadChunk") {
        std::cout.write((*next)->payload.data(), std::streamsize((*next)->payload.size()));
        std::cout.flush();
      } else if ((*next)->type == "InvokeComplete") {
        complete = json::parse((*next)->payload, nullptr, false);
      }
    }
  };
  auto call = Request(endpoint, verb::post, target, std::move(payload), headers, on_piece);
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << "\n";
  if (!corrupt.empty()) {
    std::cerr << "lambent: " << corrupt << "\n";
    return 1;
  }
  if (!complete || !complete->is_object()) {
    std::cerr << "lambent: the stream ended before the invocation completed\n";
    return 1;
  }
  if (o.log) {
    auto tail = Base64Decode(complete->value("LogResult", ""));
    if (tail) std::cerr << *tail;
  }
  if (complete->contains("ErrorCode")) {
    std::cerr << "lambent: the function failed: " << complete->value("ErrorCode", "")
              << (complete->value("ErrorDetails", "").empty() ? "" : ": " + complete->value("ErrorDetails", ""))
              << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

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
  if (o.stream) return InvokeStreaming(endpoint, o, std::move(payload), std::move(headers));
  if (o.async) headers["X-Amz-Invocation-Type"] = "Event";
  // NAME:QUALIFIER and ARNs go in the path as they are: the API resolves them as Lambda does.
  std::string target = FunctionPath(o.name) + "/invocations";
  if (!o.qualifier.empty()) target += "?Qualifier=" + Escape(o.qualifier);
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
  int exit_code = 0;
  auto listed = ListAll(endpoint, std::string(kFunctions) + "/", "Functions", &exit_code);
  if (!listed) return exit_code;
  const json& all = *listed;
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
  auto call = Request(endpoint, verb::get, FunctionPath(name));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  auto doc = json::parse(call.response.body(), nullptr, false);
  std::cout << doc.dump(2) << "\n";
  return 0;
}

int Remove(const std::string& endpoint, const std::string& name) {
  // NAME:VERSION deletes that version alone, as DeleteFunction with a Qualifier does.
  auto call = Request(endpoint, verb::delete_, FunctionPath(name));
  if (!call.reached) return 2;
  if (!Ok(call.response)) return Failed(call.response);
  std::cout << "deleted " << name << "\n";
  return 0;
}

namespace {

// The last `lines` lines of `text` (all of it when nullopt).
std::string_view LastLines(std::string_view text, std::optional<size_t> lines) {
  if (!lines) return text;
  if (*lines == 0) return {};
  size_t found = 0;
  for (size_t i = text.size(); i > 0; --i) {
    // The final newline ends the last line; every other one starts a line.
    if (text[i - 1] == '\n' && i != text.size() && ++found == *lines) return text.substr(i);
  }
  return text;
}

}  // namespace

namespace {

// A query value: everything but the unreserved characters percent-encoded.
std::string QueryEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits == text.size() || digits > 9) return std::nullopt;
    int64_t n = std::stoll(std::string(text.substr(0, digits)));
    switch (text[digits]) {
      case 's': total += n * 1000; break;
      case 'm': total += n * 60'000; break;
      case 'h': total += n * 3'600'000; break;
      case 'd': total += n * 86'400'000; break;
      case 'w': total += n * 7 * 86'400'000; break;
      default: return std::nullopt;
    }
    text.remove_prefix(digits + 1);
  }
  return total;
}

int Logs(const std::string& endpoint, const LogsOptions& o) {
  std::string target = fmt::format("/lambent/v1/functions/{}/logs?", o.name);
  if (o.timestamps) target += "timestamps=true&";
  if (!o.since.empty()) {
    auto ms = ParseDurationMs(o.since);
    if (!ms) {
      std::cerr << "lambent: --since takes a duration such as 30s, 10m, 1h30m or 2d\n";
      return 2;
    }
    target += fmt::format("since={}&", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch()).count() - *ms);
  }
  if (!o.filter.empty()) target += "filter=" + QueryEncode(o.filter) + "&";
  target.pop_back();  // the last '&', or the '?' when nothing was asked
  auto with_tail = [&](size_t lines) {
    return fmt::format("{}{}tail={}", target, target.find('?') == std::string::npos ? "?" : "&", lines);
  };
  if (!o.follow) {
    // --tail 0 still asks, so that an unknown function is an error.
    auto call = Request(endpoint, verb::get, o.tail ? with_tail(std::max<size_t>(*o.tail, 1)) : target);
    if (!call.reached) return 2;
    if (!Ok(call.response)) return Failed(call.response);
    std::cout << LastLines(call.response.body(), o.tail) << std::flush;
    return 0;
  }
  // The log as it is now, of which only what was asked for is printed: following goes on
  // from its end (--tail 0 -f: nothing of the history). The tail is cut here, from the same
  // text, so that no line falls between it and what follows.
  auto now = Request(endpoint, verb::get, target);
  if (!now.reached) return 2;
  if (!Ok(now.response)) return Failed(now.response);
  size_t seen = now.response.body().size();
  std::cout << LastLines(now.response.body(), o.tail) << std::flush;
  // Follow by polling. The log grows at its end, so the new part is what follows the end
  // last seen; when the daemon rotated the log, its oldest part is gone and that end is
  // found again by its last bytes.
  constexpr size_t kMark = 512;
  std::string mark = now.response.body().substr(seen - std::min(seen, kMark));
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto next = Request(endpoint, verb::get, target);
    if (!next.reached) return 2;
    if (!Ok(next.response)) return Failed(next.response);
    const std::string& body = next.response.body();
    size_t from = 0;
    if (body.size() >= seen && body.compare(seen - mark.size(), mark.size(), mark) == 0) {
      from = seen;
    } else if (size_t at = mark.empty() ? std::string::npos : body.rfind(mark); at != std::string::npos) {
      from = at + mark.size();
    }
    if (body.size() > from) std::cout << body.substr(from) << std::flush;
    seen = body.size();
    mark = body.substr(seen - std::min(seen, kMark));
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
