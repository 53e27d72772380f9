#include "cli/api_client.h"

#include <cctype>
#include <iostream>

#include <fmt/format.h>

namespace lambent::cli {

using nlohmann::json;

Call Request(const std::string& endpoint, http::beast_http::verb method, const std::string& target,
             std::string body, const std::map<std::string, std::string>& headers,
             const http::BodyPieceSink& on_piece) {
  auto parsed = http::ParseEndpoint(endpoint);
  if (!parsed) {
    std::cerr << "lambent: " << parsed.error().message() << "\n";
    return {};
  }
  auto response = http::Fetch(*parsed, method, target, std::move(body), headers, on_piece);
  if (!response) {
    std::cerr << fmt::format(
        "lambent: cannot reach the daemon at {} ({}); is `lambent serve` running?\n", endpoint,
        response.error().message());
    return {};
  }
  return {true, std::move(*response)};
}

int Failed(const http::Response& response) {
  auto body = json::parse(response.body(), nullptr, false);
  std::string type = std::string(response["x-amzn-ErrorType"]);
  std::string message = body.is_object()
                            ? body.value("message", body.value("Message", response.body()))
                            : response.body();
  if (message.empty()) message = fmt::format("HTTP {}", response.result_int());
  // A throttle's Reason says which limit it hit (reserved, account, memory budget).
  if (std::string reason = body.is_object() ? body.value("Reason", "") : ""; !reason.empty()) {
    type += type.empty() ? reason : " (" + reason + ")";
  }
  std::cerr << fmt::format("lambent: {}{}{}\n", type, type.empty() ? "" : ": ", message);
  return 1;
}

bool Ok(const http::Response& response) { return response.result_int() / 100 == 2; }

json Document(const http::Response& response) {
  auto doc = json::parse(response.body(), nullptr, false);
  return doc.is_object() ? doc : json::object();
}

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string FunctionPath(std::string_view function) {
  return fmt::format("{}/{}", kFunctions, Escape(function));
}

std::optional<json> ListAll(const std::string& endpoint, const std::string& path,
                            const std::string& key, int* exit_code) {
  json all = json::array();
  std::string marker;
  do {
    std::string target = path + (path.find('?') == std::string::npos ? "?" : "&") + "MaxItems=50";
    if (!marker.empty()) target += "&Marker=" + Escape(marker);
    auto call = Request(endpoint, http::beast_http::verb::get, target);
    if (!call.reached) {
      *exit_code = 2;
      return std::nullopt;
    }
    if (!Ok(call.response)) {
      *exit_code = Failed(call.response);
      return std::nullopt;
    }
    auto doc = Document(call.response);
    for (auto& item : doc.value(key, json::array())) all.push_back(std::move(item));
    marker = doc.value("NextMarker", "");
  } while (!marker.empty());
  return all;
}

}  // namespace lambent::cli
