#include "sqs/json_protocol.h"

#include "base/json.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

constexpr size_t kMaxDepth = 16;

SqsError Serialization(std::string message) {
  SqsError error = SqsError::MalformedRequest(std::move(message));
  error.shape = "SerializationException";
  return error;
}

}  // namespace

tl::expected<JsonRequest, SqsError> ParseJsonRequest(std::string_view target, std::string_view body) {
  if (!target.starts_with(kSqsTargetPrefix)) return tl::unexpected(SqsError::InvalidAction(ValidUtf8(target)));
  JsonRequest request;
  request.operation = ValidUtf8(target.substr(kSqsTargetPrefix.size()));
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    request.input = json::object();
    return request;
  }
  if (JsonNestsDeeperThan(body, kMaxDepth)) return tl::unexpected(Serialization("The request nests too deeply."));
  request.input = json::parse(body, nullptr, false);
  if (request.input.is_discarded()) return tl::unexpected(Serialization("The request is not valid JSON."));
  if (!request.input.is_object()) return tl::unexpected(Serialization("The request must be a JSON object."));
  return request;
}

std::string JsonErrorBody(const SqsError& error) {
  return DumpJson(json{{"__type", "com.amazonaws.sqs#" + error.shape}, {"message", error.message}});
}

std::string QueryErrorHeader(const SqsError& error) {
  return error.code + (error.sender_fault ? ";Sender" : ";Receiver");
}

}  // namespace lambent::sqs
