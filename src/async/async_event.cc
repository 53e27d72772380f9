#include "async/async_event.h"

#include <nlohmann/json.hpp>

namespace lambent::async {

namespace {
constexpr std::string_view kPrefix = "lambent.async.";
}  // namespace

std::string AsyncQueueName(std::string_view function) {
  std::string name(kPrefix);
  name += function;
  return name;
}

std::optional<std::string> FunctionOfAsyncQueue(std::string_view queue) {
  if (!queue.starts_with(kPrefix) || queue.size() == kPrefix.size()) return std::nullopt;
  return std::string(queue.substr(kPrefix.size()));
}

std::string AsyncEvent::ToAttributes() const {
  nlohmann::json json = {{"qualifier", qualifier},
                         {"arn", invoked_arn},
                         {"attempts", attempts},
                         {"first_ms", first_enqueued_ms}};
  if (!client_context.empty()) json["client_context"] = client_context;
  return json.dump();
}

std::optional<AsyncEvent> AsyncEvent::FromAttributes(std::string_view attributes) {
  auto json = nlohmann::json::parse(attributes, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  auto arn = json.find("arn");
  auto attempts = json.find("attempts");
  auto first = json.find("first_ms");
  if (arn == json.end() || !arn->is_string() || attempts == json.end() ||
      !attempts->is_number_integer() || first == json.end() || !first->is_number_integer()) {
    return std::nullopt;
  }
  AsyncEvent event;
  event.invoked_arn = arn->get<std::string>();
  event.attempts = attempts->get<int>();
  event.first_enqueued_ms = first->get<int64_t>();
  if (auto q = json.find("qualifier"); q != json.end() && q->is_string()) {
    event.qualifier = q->get<std::string>();
  }
  if (auto c = json.find("client_context"); c != json.end() && c->is_string()) {
    event.client_context = c->get<std::string>();
  }
  return event;
}

}  // namespace lambent::async
