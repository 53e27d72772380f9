#include "urls/url_config.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

namespace lambent::urls {

using nlohmann::json;

namespace {

Result<std::vector<std::string>> Strings(const json& in, const char* field, size_t max_items, size_t max_len) {
  std::vector<std::string> out;
  auto it = in.find(field);
  if (it == in.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > max_items) {
    return tl::unexpected(Error::Invalid(fmt::format("Cors.{} must be a list of at most {} strings", field, max_items)));
  }
  for (const json& v : *it) {
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > max_len) {
      return tl::unexpected(Error::Invalid(fmt::format("Cors.{} must hold strings of 1 to {} characters", field, max_len)));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

void Put(json& out, const char* field, const std::vector<std::string>& values) {
  if (!values.empty()) out[field] = values;
}

}  // namespace

json Cors::ToJson() const {
  json out{{"AllowCredentials", allow_credentials}};
  Put(out, "AllowHeaders", allow_headers);
  Put(out, "AllowMethods", allow_methods);
  Put(out, "AllowOrigins", allow_origins);
  Put(out, "ExposeHeaders", expose_headers);
  if (max_age) out["MaxAge"] = *max_age;
  return out;
}

Result<Cors> Cors::FromJson(const json& in) {
  if (!in.is_object()) return tl::unexpected(Error::Invalid("Cors must be an object"));
  Cors cors;
  if (auto it = in.find("AllowCredentials"); it != in.end() && !it->is_null()) {
    if (!it->is_boolean()) return tl::unexpected(Error::Invalid("Cors.AllowCredentials must be a boolean"));
    cors.allow_credentials = it->get<bool>();
  }
  auto headers = Strings(in, "AllowHeaders", 100, 1024);
  auto methods = Strings(in, "AllowMethods", 6, 6);
  auto origins = Strings(in, "AllowOrigins", 100, 253);
  auto expose = Strings(in, "ExposeHeaders", 100, 1024);
  for (auto* r : {&headers, &methods, &origins, &expose}) {
    if (!*r) return tl::unexpected(r->error());
  }
  for (const std::string& m : *methods) {
    if (m != "*" && m != "GET" && m != "PUT" && m != "HEAD" && m != "POST" && m != "PATCH" && m != "DELETE") {
      return tl::unexpected(Error::Invalid(fmt::format(
          "1 validation error detected: Value '{}' at 'cors.allowMethods' failed to satisfy constraint: Member "
          "must satisfy constraint: [Member must have length less than or equal to 6, Member must satisfy regular "
          "expression pattern: .*]",
          m)));
    }
  }
  cors.allow_headers = std::move(*headers);
  cors.allow_methods = std::move(*methods);
  cors.allow_origins = std::move(*origins);
  cors.expose_headers = std::move(*expose);
  if (auto it = in.find("MaxAge"); it != in.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86400) {
      return tl::unexpected(Error::Invalid("Cors.MaxAge must be between 0 and 86400"));
    }
    cors.max_age = int(it->get<int64_t>());
  }
  return cors;
}

json UrlConfig::ToStored() const {
  json out{{"function", function}, {"qualifier", qualifier}, {"url_id", url_id},
           {"auth_type", auth_type}, {"invoke_mode", invoke_mode}, {"created_ms", created_ms},
           {"modified_ms", modified_ms}};
  if (cors) out["cors"] = cors->ToJson();
  return out;
}

UrlConfig UrlConfig::FromStored(const json& in) {
  UrlConfig config;
  config.function = in.value("function", "");
  config.qualifier = in.value("qualifier", "");
  config.url_id = in.value("url_id", "");
  config.auth_type = in.value("auth_type", "NONE");
  config.invoke_mode = in.value("invoke_mode", "BUFFERED");
  config.created_ms = in.value("created_ms", int64_t{0});
  config.modified_ms = in.value("modified_ms", int64_t{0});
  if (auto it = in.find("cors"); it != in.end()) {
    if (auto cors = Cors::FromJson(*it)) config.cors = std::move(*cors);
  }
  return config;
}

std::string NewUrlId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string id(32, 'a');
  for (char& c : id) c = kAlphabet[pick(generator)];
  return id;
}

std::string UrlTime(int64_t epoch_ms) {
  std::time_t seconds = std::time_t(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, epoch_ms % 1000);
}

}  // namespace lambent::urls
