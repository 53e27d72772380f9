#include "urls/payload_v2.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/json.h"

namespace lambent::urls {

using nlohmann::json;
namespace beast_http = http::beast_http;

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// %XX and '+' (a space, in a query string) decoded.
std::string QueryDecode(std::string_view text) {
  std::string spaced(text);
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return PercentDecode(spaced);
}

bool IsTextType(std::string_view content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type.starts_with("text/") || type == "application/json" || type == "application/javascript" ||
         type == "application/xml" || type == "application/x-www-form-urlencoded" || type.ends_with("+json") ||
         type.ends_with("+xml");
}

bool ValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

// "12/Mar/2020:19:03:58 +0000", as requestContext.time.
std::string ClfTime(int64_t epoch_ms) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = std::time_t(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

http::Response BadGateway() {
  auto response = http::MakeResponse(502, R"({"Message":"Internal Server Error"})", "application/json");
  return response;
}

std::string HeaderText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return DumpJson(value);
}

// A header the function set, unless its name or value would break the response's header
// (a line break is a header injection; Beast writes fields as they are).
void InsertSafe(http::Response& response, std::string_view name, std::string_view value) {
  auto clean = [](std::string_view text) { return text.find_first_of("\r\n") == std::string_view::npos; };
  if (name.empty() || !clean(name) || !clean(value) || name.find_first_of(" \t:") != std::string_view::npos) return;
  response.insert(name, value);
}

// The headers, multiValueHeaders and cookies of a function's response object; true when
// they give a Content-Type.
bool AddFunctionHeaders(const json& value, http::Response& response) {
  bool has_type = false;
  if (auto it = value.find("headers"); it != value.end() && it->is_object()) {
    for (auto h = it->begin(); h != it->end(); ++h) {
      if (Lower(h.key()) == "content-type") has_type = true;
      InsertSafe(response, h.key(), HeaderText(h.value()));
    }
  }
  if (auto it = value.find("multiValueHeaders"); it != value.end() && it->is_object()) {
    for (auto h = it->begin(); h != it->end(); ++h) {
      if (!h.value().is_array()) continue;
      if (Lower(h.key()) == "content-type") has_type = true;
      for (const json& v : h.value()) InsertSafe(response, h.key(), HeaderText(v));
    }
  }
  if (auto it = value.find("cookies"); it != value.end() && it->is_array()) {
    for (const json& cookie : *it) {
      if (cookie.is_string()) InsertSafe(response, "Set-Cookie", cookie.get<std::string>());
    }
  }
  return has_type;
}

bool OriginAllowed(const Cors& cors, std::string_view origin) {
  return std::any_of(cors.allow_origins.begin(), cors.allow_origins.end(),
                     [&](const std::string& o) { return o == "*" || Lower(o) == Lower(origin); });
}

std::string Joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

}  // namespace

std::string BuildEvent(const http::Request& request, std::string_view raw_path, const RequestContext& context) {
  std::string_view target(request.target().data(), request.target().size());
  auto question = target.find('?');
  std::string raw_query = question == std::string_view::npos ? "" : std::string(target.substr(question + 1));

  json headers = json::object();
  json cookies = json::array();
  for (const auto& field : request) {
    std::string name = Lower(std::string_view(field.name_string().data(), field.name_string().size()));
    std::string value(field.value());
    if (name == "cookie") {
      // One cookie per element, as Lambda splits them.
      size_t start = 0;
      while (start < value.size()) {
        size_t end = value.find(';', start);
        std::string cookie = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
        size_t first = cookie.find_first_not_of(' ');
        if (first != std::string::npos) cookies.push_back(cookie.substr(first));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      continue;
    }
    if (headers.contains(name)) {
      headers[name] = headers[name].get<std::string>() + "," + value;
    } else {
      headers[name] = value;
    }
  }

  json query = json::object();
  size_t start = 0;
  while (!raw_query.empty() && start <= raw_query.size()) {
    size_t end = raw_query.find('&', start);
    std::string pair = raw_query.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = QueryDecode(pair.substr(0, eq));
      std::string value = eq == std::string::npos ? "" : QueryDecode(pair.substr(eq + 1));
      if (query.contains(key)) {
        query[key] = query[key].get<std::string>() + "," + value;
      } else {
        query[key] = value;
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }

  std::string user_agent(request[beast_http::field::user_agent]);
  json event{
      {"version", "2.0"},
      {"routeKey", "$default"},
      {"rawPath", std::string(raw_path)},
      {"rawQueryString", raw_query},
      {"headers", headers},
      {"requestContext",
       {{"accountId", "anonymous"},
        {"apiId", context.url_id},
        {"domainName", context.domain},
        {"domainPrefix", context.url_id},
        {"http",
         {{"method", std::string(request.method_string())},
          {"path", std::string(raw_path)},
          {"protocol", fmt::format("HTTP/{}.{}", request.version() / 10, request.version() % 10)},
          {"sourceIp", context.source_ip},
          {"userAgent", user_agent}}},
        {"requestId", context.request_id},
        {"routeKey", "$default"},
        {"stage", "$default"},
        {"time", ClfTime(context.now_ms)},
        {"timeEpoch", context.now_ms}}},
      {"isBase64Encoded", false}};
  if (!cookies.empty()) event["cookies"] = cookies;
  if (!query.empty()) event["queryStringParameters"] = query;
  const std::string& body = request.body();
  if (!body.empty()) {
    std::string content_type(request[beast_http::field::content_type]);
    bool text = (content_type.empty() || IsTextType(content_type)) && ValidUtf8(body);
    event["body"] = text ? body : Base64Encode(body);
    event["isBase64Encoded"] = !text;
  }
  return DumpJson(event);
}

http::Response ResultToResponse(std::string_view result, bool function_error) {
  if (function_error) return BadGateway();
  json value = json::parse(result, nullptr, false);
  if (value.is_discarded()) return BadGateway();
  if (!value.is_object() || !value.contains("statusCode")) {
    // A bare value (or an object without statusCode) is the body of a 200.
    return http::MakeResponse(200, std::string(result), "application/json");
  }
  const json& status = value["statusCode"];
  if (!status.is_number_integer() || status.get<int64_t>() < 100 || status.get<int64_t>() > 599) return BadGateway();
  std::string body;
  if (auto it = value.find("body"); it != value.end() && !it->is_null()) {
    body = it->is_string() ? it->get<std::string>() : DumpJson(*it);
  }
  if (value.value("isBase64Encoded", false)) {
    auto decoded = Base64Decode(body);
    if (!decoded) return BadGateway();
    body = std::move(*decoded);
  }
  http::Response response(beast_http::status(unsigned(status.get<int64_t>())), 11);
  bool has_type = AddFunctionHeaders(value, response);
  if (!has_type) response.set(beast_http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::optional<http::Response> PreludeToResponse(std::string_view prelude) {
  json value = json::parse(prelude, nullptr, false);
  if (!value.is_object()) return std::nullopt;
  int64_t status = 200;
  if (auto it = value.find("statusCode"); it != value.end()) {
    if (!it->is_number_integer()) return std::nullopt;
    status = it->get<int64_t>();
  }
  if (status < 100 || status > 599) return std::nullopt;
  http::Response response(beast_http::status(unsigned(status)), 11);
  if (!AddFunctionHeaders(value, response)) response.set(beast_http::field::content_type, "application/octet-stream");
  return response;
}

std::optional<http::Response> Preflight(const std::optional<Cors>& cors, const http::Request& request) {
  if (request.method() != beast_http::verb::options) return std::nullopt;
  auto origin = request.find(beast_http::field::origin);
  auto method = request.find(beast_http::field::access_control_request_method);
  if (origin == request.end() || method == request.end()) return std::nullopt;
  http::Response response(beast_http::status::ok, 11);
  if (cors && OriginAllowed(*cors, origin->value())) {
    bool any = std::find(cors->allow_origins.begin(), cors->allow_origins.end(), "*") != cors->allow_origins.end();
    response.set(beast_http::field::access_control_allow_origin,
                 any && !cors->allow_credentials ? std::string("*") : std::string(origin->value()));
    if (!cors->allow_methods.empty()) {
      response.set(beast_http::field::access_control_allow_methods, Joined(cors->allow_methods));
    }
    if (!cors->allow_headers.empty()) {
      response.set(beast_http::field::access_control_allow_headers, Joined(cors->allow_headers));
    }
    if (cors->allow_credentials) response.set(beast_http::field::access_control_allow_credentials, "true");
    if (cors->max_age) response.set(beast_http::field::access_control_max_age, std::to_string(*cors->max_age));
    response.set(beast_http::field::vary, "Origin");
  }
  response.prepare_payload();
  return response;
}

void AddCorsHeaders(const std::optional<Cors>& cors, const http::Request& request, http::Response& response) {
  if (!cors) return;
  auto origin = request.find(beast_http::field::origin);
  if (origin == request.end() || !OriginAllowed(*cors, origin->value())) return;
  bool any = std::find(cors->allow_origins.begin(), cors->allow_origins.end(), "*") != cors->allow_origins.end();
  response.set(beast_http::field::access_control_allow_origin,
               any && !cors->allow_credentials ? std::string("*") : std::string(origin->value()));
  if (cors->allow_credentials) response.set(beast_http::field::access_control_allow_credentials, "true");
  if (!cors->expose_headers.empty()) {
    response.set(beast_http::field::access_control_expose_headers, Joined(cors->expose_headers));
  }
  response.set(beast_http::field::vary, "Origin");
}

}  // namespace lambent::urls
