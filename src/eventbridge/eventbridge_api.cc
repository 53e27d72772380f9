#include "eventbridge/eventbridge_api.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "base/json.h"

namespace lambent::eventbridge {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::string_view kTargetPrefix = "AWSEvents.";

http::Response JsonAnswer(unsigned status, const json& body) {
  return http::MakeResponse(status, DumpJson(body), "application/x-amz-json-1.1");
}

http::Response ErrorAnswer(const ServiceError& error) {
  unsigned status = error.type == "InternalException" ? 500 : 400;
  return JsonAnswer(status, json{{"__type", error.type}, {"message", error.message}});
}

}  // namespace

EventBridgeApi::EventBridgeApi(asio::io_context& io, asio::thread_pool& workers, EventBusService& service,
                               EventRouter& router)
    : io_(io), workers_(workers), service_(service), router_(router) {}

bool EventBridgeApi::Claims(const http::RequestHeader& header) {
  auto target = header.find("X-Amz-Target");
  return target != header.end() && std::string_view(target->value()).starts_with(kTargetPrefix);
}

void EventBridgeApi::Handle(http::Request request, http::Responder respond) {
  try {
    std::string_view target_header = request["X-Amz-Target"];
    std::string operation = std::string(target_header.substr(kTargetPrefix.size()));
    json body = request.body().empty() ? json::object() : json::parse(request.body(), nullptr, false);
    if (!body.is_object()) {
      return respond(ErrorAnswer({"SerializationException", "The request body is not a JSON object."}));
    }
    if (operation == "PutEvents") {
      auto responder = std::make_shared<http::Responder>(std::move(respond));
      return router_.PutEvents(body, [responder](json answer) {
        if (answer.contains("__type")) return (*responder)(JsonAnswer(400, answer));
        (*responder)(JsonAnswer(200, answer));
      });
    }
    asio::post(workers_, [this, operation, body = std::move(body), respond = std::move(respond)]() mutable {
      http::Response response;
      try {
        Answer answer = service_.Call(operation, body);
        response = answer ? JsonAnswer(200, *answer) : ErrorAnswer(answer.error());
      } catch (const std::exception& e) {
        response = ErrorAnswer({"InternalException", e.what()});
      }
      respond(std::move(response));
    });
  } catch (const std::exception& e) {
    spdlog::error("eventbridge request: {}", e.what());
    if (respond.connected()) respond(ErrorAnswer({"InternalException", "internal error"}));
  }
}

}  // namespace lambent::eventbridge
