#include "sqs/sqs_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/encoding.h"
#include "base/ids.h"
#include "base/json.h"
#include "sqs/json_protocol.h"
#include "sqs/operations.h"
#include "sqs/query_protocol.h"

namespace lambent::sqs {

using nlohmann::json;

namespace {

// Ten messages of 256 KB, percent-encoded or JSON-escaped, with room for attributes.
constexpr uint64_t kBodyLimit = 4 * 1024 * 1024;

std::string_view Header(const http::RequestHeader& header, std::string_view name) {
  auto it = header.find(boost::beast::string_view(name.data(), name.size()));
  if (it == header.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// "/<account digits>/<queue>": where a query-protocol client posts calls on one queue.
// Lambda's paths begin with a date ("/2015-03-31/..."), never with digits alone.
bool IsQueuePath(std::string_view path, std::string* queue = nullptr) {
  if (path.size() < 4 || path[0] != '/') return false;
  size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1) return false;
  for (char c : path.substr(1, slash - 1)) {
    if (c < '0' || c > '9') return false;
  }
  std::string_view name = path.substr(slash + 1);
  if (name.empty() || name.find('/') != std::string_view::npos) return false;
  if (queue) *queue = PercentDecode(name);
  return true;
}

bool HasAction(std::string_view query) {
  return query.starts_with("Action=") || query.find("&Action=") != std::string_view::npos;
}

// The scheme and authority for queue URLs: what the client connected to, when the Host
// header is plausible.
std::string BaseUrl(const http::RequestHeader& header) {
  std::string_view host = Header(header, "Host");
  if (host.empty() || host.size() > 255) return "http://localhost";
  for (char c : host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' ||
              c == '_';
    if (!ok) return "http://localhost";
  }
  return "http://" + std::string(host);
}

http::Response WithRequestId(http::Response response, const std::string& request_id) {
  response.set("x-amzn-RequestId", request_id);
  return response;
}

http::Response JsonAnswer(const Outcome& outcome, const std::string& request_id) {
  if (outcome) {
    return WithRequestId(http::MakeResponse(200, DumpJson(*outcome), kSqsJsonContentType), request_id);
  }
  const SqsError& error = outcome.error();
  auto response = http::MakeResponse(error.status, JsonErrorBody(error), kSqsJsonContentType);
  response.set("x-amzn-query-error", QueryErrorHeader(error));
  return WithRequestId(std::move(response), request_id);
}

http::Response XmlAnswer(const std::string& action, const Outcome& outcome, const std::string& request_id) {
  if (outcome)
    return WithRequestId(http::MakeResponse(200, XmlResponse(action, *outcome, request_id), "text/xml"), request_id);
  const SqsError& error = outcome.error();
  return WithRequestId(http::MakeResponse(error.status, XmlError(error, request_id), "text/xml"), request_id);
}

Outcome Internal() { return tl::unexpected(SqsError::Internal()); }

// Answers may be rendered from the event loop (a completion, a long poll's wake): nothing
// thrown there may escape.
template <typename Render, typename Fallback>
http::Response Guarded(Render render, Fallback fallback) {
  try {
    return render();
  } catch (const std::exception& e) {
    spdlog::error("SQS answer: {}", e.what());
    return fallback();
  }
}

// The responder shared by a request's callbacks (a long poll's attempt and its give-up):
// it answers once, whichever comes first.
struct SharedResponder {
  explicit SharedResponder(http::Responder responder) : responder(std::move(responder)) {}
  void operator()(http::Response response) {
    if (answered) return;
    answered = true;
    responder(std::move(response));
  }
  http::Responder responder;
  bool answered = false;
};

}  // namespace

struct SqsApi::Impl {
  Impl(boost::asio::io_context& io, async::QueueEngine& engine, SqsApiOptions options)
      : operations(io, engine, std::move(options.region), std::move(options.account_id)) {}

  Operations operations;
};

SqsApi::SqsApi(boost::asio::io_context& io, async::QueueEngine& engine, SqsApiOptions options)
    : impl_(std::make_unique<Impl>(io, engine, std::move(options))) {}

SqsApi::~SqsApi() = default;

bool SqsApi::Claims(const http::RequestHeader& header) {
  if (Header(header, "X-Amz-Target").starts_with(kSqsTargetPrefix)) return true;
  std::string_view target(header.target().data(), header.target().size());
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (path != "/" && !IsQueuePath(path)) return false;
  if (HasAction(query)) return true;
  return header.method() == http::beast_http::verb::post &&
         Header(header, "Content-Type").starts_with("application/x-www-form-urlencoded");
}

uint64_t SqsApi::BodyLimit() const { return kBodyLimit; }

http::Response SqsApi::Reject(const http::RequestHeader& header, uint64_t limit) {
  auto error = SqsError::InvalidParameterValue(
      fmt::format("The request must be shorter than {} bytes.", limit));
  std::string request_id = NewRequestId();
  if (!Header(header, "X-Amz-Target").empty()) return JsonAnswer(tl::unexpected(error), request_id);
  return XmlAnswer("", tl::unexpected(error), request_id);
}

void SqsApi::Handle(http::Request request, http::Responder respond) {
  auto responder = std::make_shared<SharedResponder>(std::move(respond));
  std::string request_id = NewRequestId();
  // Nothing thrown may reach the event loop; a bug costs this request only.
  try {
    RequestContext context;
    context.base_url = BaseUrl(request.base());
    context.still_wanted = [responder] { return responder->responder.peer_open(); };
    std::string_view target_header = Header(request.base(), "X-Amz-Target");
    std::string_view target(request.target().data(), request.target().size());
    size_t question = target.find('?');
    IsQueuePath(target.substr(0, question), &context.path_queue);

    if (!target_header.empty()) {
      auto parsed = ParseJsonRequest(target_header, request.body());
      if (!parsed) return (*responder)(JsonAnswer(tl::unexpected(parsed.error()), request_id));
      return impl_->operations.Run(parsed->operation, parsed->input, context, [responder, request_id](Outcome outcome) {
        (*responder)(Guarded([&] { return JsonAnswer(outcome, request_id); },
                             [&] { return JsonAnswer(Internal(), request_id); }));
      });
    }

    FormParams params;
    bool well_formed = question == std::string_view::npos || DecodeForm(target.substr(question + 1), params);
    if (request.method() == http::beast_http::verb::post)
      well_formed = well_formed && DecodeForm(request.body(), params);
    if (!well_formed) {
      auto error = SqsError::MalformedRequest("The request is not valid form-encoded text.");
      return (*responder)(XmlAnswer("", tl::unexpected(std::move(error)), request_id));
    }
    auto action = params.find("Action");
    if (action == params.end() || action->second.empty()) {
      return (*responder)(XmlAnswer("", tl::unexpected(SqsError::MissingParameter("Action")), request_id));
    }
    std::string name = ValidUtf8(action->second);
    impl_->operations.Run(name, QueryInput(name, params), context, [responder, request_id, name](Outcome outcome) {
      (*responder)(Guarded([&] { return XmlAnswer(name, outcome, request_id); },
                           [&] { return XmlAnswer(name, Internal(), request_id); }));
    });
  } catch (const std::exception& e) {
    spdlog::error("SQS request {}: {}", request_id, e.what());
    (*responder)(XmlAnswer("", tl::unexpected(SqsError::Internal()), request_id));
  }
}

void SqsApi::Stop() { impl_->operations.Stop(); }

}  // namespace lambent::sqs
