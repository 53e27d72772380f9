#include "api/event_source_mappings.h"

#include <fmt/format.h>

#include <memory>

#include "api/common.h"
#include "api/errors.h"
#include "api/functions.h"
#include "esm/mapping_manager.h"
#include "sqs/sqs_message.h"

namespace lambent::api {

namespace beast_http = http::beast_http;
using beast_http::verb;
using nlohmann::json;

namespace {

constexpr int kMaxListItems = 10000;
constexpr int kDefaultListItems = 100;

http::Response UnknownOperation() {
  return ErrorResponse(404, "UnknownOperationException", "Unknown operation");
}

// The function a FunctionName names, checked against the registry: the error response
// when it names another account or region, or nothing that exists.
tl::expected<FunctionRef, http::Response> ResolveFunction(const ApiContext& context,
                                                          const std::string& name) {
  auto ref = ParseFunctionRef(name);
  if (!ref) return tl::unexpected(ErrorResponse(ref.error()));
  if (auto refused = RefuseForeignRef(context, *ref)) return tl::unexpected(std::move(*refused));
  if (!context.registry.Find(ref->name)) return tl::unexpected(FunctionNotFound(context, ref->name));
  const std::string& q = ref->qualifier;
  bool exists = q.empty() || q == "$LATEST" ||
                (IsVersionNumber(q) ? context.registry.FindVersion(ref->name, q) != nullptr
                                    : context.registry.FindAlias(ref->name, q) != nullptr);
  if (!exists) return tl::unexpected(FunctionNotFound(context, ref->name, q));
  return *ref;
}

// The queue an EventSourceArn names, when it is an SQS queue of this region and account.
tl::expected<std::string, http::Response> ResolveQueue(const ApiContext& context,
                                                       const std::string& arn) {
  if (!arn.starts_with("arn:aws:sqs:")) {
    return tl::unexpected(ErrorResponse(Error::Invalid(
        "Unrecognized event source, must be an SQS queue of this lambent (arn:aws:sqs:" +
        context.region + ":" + context.account_id + ":NAME): lambent has no Kinesis, DynamoDB, "
        "Kafka or MQ sources.")));
  }
  auto queue = sqs::QueueNameFromArn(arn, context.region, context.account_id);
  if (!queue) {
    return tl::unexpected(ErrorResponse(Error::Invalid(
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does "
        "not exist or you do not have access to it.")));
  }
  return *queue;
}

json StatusJson(const ApiContext& context, const esm::MappingStatus& status) {
  return esm::MappingJson(status, context.region, context.account_id);
}

// Calls `respond` once with a manager's answer: `status` and the mapping, or the error.
esm::MappingManager::Done Answer(const ApiContext& context, unsigned status,
                                 http::Responder respond) {
  // std::function needs a copyable callable; the responder is move-only.
  auto responder = std::make_shared<http::Responder>(std::move(respond));
  return [&context, status, responder](Result<esm::MappingStatus> result) {
    if (!result) return (*responder)(ErrorResponse(result.error()));
    (*responder)(JsonResponse(status, StatusJson(context, *result)));
  };
}

void CreateMapping(ApiContext& context, const http::Request& request, http::Responder respond) {
  auto body = ParseJsonBody(request);
  if (!body) return respond(std::move(body.error()));
  auto parsed = esm::ParseMappingRequest(*body, /*create=*/true);
  if (!parsed) return respond(ErrorResponse(parsed.error()));
  auto ref = ResolveFunction(context, *parsed->function_name);
  if (!ref) return respond(std::move(ref.error()));
  auto queue = ResolveQueue(context, *parsed->source_arn);
  if (!queue) return respond(std::move(queue.error()));
  esm::MappingConfig config;
  config.function = ref->name;
  config.qualifier = ref->qualifier;
  config.queue = *queue;
  if (auto ok = esm::ApplyRequest(*parsed, config); !ok) return respond(ErrorResponse(ok.error()));
  context.mappings->Create(std::move(config), Answer(context, 202, std::move(respond)));
}

void UpdateMapping(ApiContext& context, const std::string& uuid, const http::Request& request,
                   http::Responder respond) {
  auto body = ParseJsonBody(request);
  if (!body) return respond(std::move(body.error()));
  auto parsed = esm::ParseMappingRequest(*body, /*create=*/false);
  if (!parsed) return respond(ErrorResponse(parsed.error()));
  std::optional<FunctionRef> ref;
  if (parsed->function_name) {
    auto resolved = ResolveFunction(context, *parsed->function_name);
    if (!resolved) return respond(std::move(resolved.error()));
    ref = std::move(*resolved);
  }
  auto mutate = [parsed = *parsed, ref](esm::MappingConfig& config) -> Result<void> {
    if (ref) {
      config.function = ref->name;
      config.qualifier = ref->qualifier;
    }
    return esm::ApplyRequest(parsed, config);
  };
  context.mappings->Update(uuid, std::move(mutate), Answer(context, 202, std::move(respond)));
}

http::Response ListMappings(ApiContext& context, const RequestTarget& target) {
  auto page = ParsePage(target, kMaxListItems, kDefaultListItems);
  if (!page) return ErrorResponse(page.error());
  std::optional<FunctionRef> function;
  if (auto name = target.Query("FunctionName"); name && !name->empty()) {
    auto ref = ParseFunctionRef(*name);
    if (!ref) return ErrorResponse(ref.error());
    if (auto refused = RefuseForeignRef(context, *ref)) return std::move(*refused);
    function = std::move(*ref);
  }
  std::optional<std::string> queue;
  if (auto arn = target.Query("EventSourceArn"); arn && !arn->empty()) {
    // An ARN that names no queue here matches no mapping.
    queue = sqs::QueueNameFromArn(*arn, context.region, context.account_id).value_or("");
  }
  json list = json::array();
  std::string next;
  for (const auto& status : context.mappings->List()) {
    const auto& mapping = status.mapping;
    if (mapping.uuid < page->marker) continue;
    if (function && (mapping.config.function != function->name ||
                     (!function->qualifier.empty() && mapping.config.qualifier != function->qualifier))) {
      continue;
    }
    if (queue && mapping.config.queue != *queue) continue;
    if (int(list.size()) == page->max_items) {
      next = mapping.uuid;
      break;
    }
    list.push_back(StatusJson(context, status));
  }
  json out{{"EventSourceMappings", std::move(list)}};
  if (!next.empty()) out["NextMarker"] = EncodeMarker(next);
  return JsonResponse(200, out);
}

}  // namespace

void RouteEventSourceMappings(ApiContext& context, const RequestTarget& target, http::Request& request,
                              http::Responder& respond) {
  if (!context.mappings) {
    return respond(ErrorResponse(503, "ServiceException", "Event source mappings are not served here"));
  }
  const auto& s = target.segments;
  verb method = request.method();
  if (s.size() == 2) {
    if (method == verb::post) return CreateMapping(context, request, std::move(respond));
    if (method == verb::get) return respond(ListMappings(context, target));
    return respond(UnknownOperation());
  }
  if (s.size() != 3) return respond(UnknownOperation());
  const std::string& uuid = s[2];
  if (method == verb::get) {
    auto status = context.mappings->Get(uuid);
    if (!status) {
      return respond(ErrorResponse(404, "ResourceNotFoundException",
                                   "The resource you requested does not exist."));
    }
    return respond(JsonResponse(200, StatusJson(context, *status)));
  }
  if (method == verb::put) return UpdateMapping(context, uuid, request, std::move(respond));
  if (method == verb::delete_) {
    return context.mappings->Delete(uuid, Answer(context, 202, std::move(respond)));
  }
  respond(UnknownOperation());
}

}  // namespace lambent::api
