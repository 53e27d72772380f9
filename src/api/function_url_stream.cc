#include "api/function_url_stream.h"

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "urls/payload_v2.h"

namespace lambent::api {

namespace {

constexpr size_t kMaxPreludeBytes = 64 * 1024;

http::Response UrlError(unsigned status, std::string_view message) {
  return http::MakeResponse(status, fmt::format(R"({{"Message":"{}"}})", message), "application/json");
}

}  // namespace

UrlStreamRelay::UrlStreamRelay(http::Responder respond, std::shared_ptr<const http::Request> request_head,
                               std::optional<urls::Cors> cors, std::string request_id)
    : respond_(std::move(respond)), request_head_(std::move(request_head)), cors_(std::move(cors)),
      request_id_(std::move(request_id)) {}

void UrlStreamRelay::OnStreamStart(std::string_view content_type) {
  // Nothing is sent yet: a runtime sends its head before it knows whether the handler
  // fails, and a failure before the first byte is still a 502.
  if (content_type == urls::kHttpIntegrationType) {
    awaiting_prelude_ = true;
  } else {
    content_type_ = content_type;
  }
}

void UrlStreamRelay::OnStreamPiece(std::string_view piece) {
  if (writer_) return writer_->Write(std::string(piece));
  if (content_type_ && !piece.empty()) {
    StartPlain();
    return writer_->Write(std::string(piece));
  }
  if (!awaiting_prelude_) return;  // failed already
  prelude_.append(piece);
  auto separator = prelude_.find(urls::kPreludeSeparator);
  if (separator == std::string::npos) {
    if (prelude_.size() > kMaxPreludeBytes) Fail();
    return;
  }
  auto head = urls::PreludeToResponse(std::string_view(prelude_).substr(0, separator));
  if (!head) return Fail();
  awaiting_prelude_ = false;
  std::string rest = prelude_.substr(separator + urls::kPreludeSeparator.size());
  prelude_.clear();
  Start(std::move(*head));
  if (!rest.empty()) writer_->Write(std::move(rest));
}

void UrlStreamRelay::Finish(scheduler::Outcome outcome) {
  if (writer_) {
    // Lambda cuts a stream whose function failed midway: the client must not take the
    // truncated body for a whole one.
    if (outcome.function_error || outcome.error) {
      writer_->Abort();
    } else {
      writer_->End();
    }
    return;
  }
  if (!respond_) return;
  if (content_type_ && outcome.streamed && !outcome.function_error && !outcome.error) {
    StartPlain();  // an empty body, streamed
    return writer_->End();
  }
  http::Response response;
  if (outcome.error) {
    bool throttled = outcome.error->code() == ErrorCode::kTooManyRequests;
    if (!throttled) spdlog::warn("function URL request {}: {}", request_id_, outcome.error->message());
    response = throttled ? UrlError(429, "Rate Exceeded.") : UrlError(502, "Internal Server Error");
  } else if (outcome.streamed || outcome.function_error) {
    // Streamed without a usable prelude, or failed before its first piece.
    response = UrlError(502, "Internal Server Error");
  } else {
    // A function that answered whole is served as in BUFFERED mode.
    response = urls::ResultToResponse(outcome.body, false);
  }
  urls::AddCorsHeaders(cors_, *request_head_, response);
  response.set("x-amzn-RequestId", request_id_);
  (*respond_)(std::move(response));
  respond_.reset();
}

void UrlStreamRelay::Start(http::Response head) {
  if (!respond_) return;
  urls::AddCorsHeaders(cors_, *request_head_, head);
  head.set("x-amzn-RequestId", request_id_);
  writer_.emplace(respond_->Stream(std::move(head.base())));
  respond_.reset();
}

void UrlStreamRelay::StartPlain() {
  http::Response head(http::beast_http::status::ok, 11);
  head.set(http::beast_http::field::content_type, *content_type_);
  content_type_.reset();
  Start(std::move(head));
}

void UrlStreamRelay::Fail() {
  awaiting_prelude_ = false;
  prelude_.clear();
  prelude_.shrink_to_fit();
  spdlog::warn("function URL request {}: the streamed response's prelude is malformed", request_id_);
  if (!respond_) return;
  auto response = UrlError(502, "Internal Server Error");
  response.set("x-amzn-RequestId", request_id_);
  (*respond_)(std::move(response));
  respond_.reset();
}

}  // namespace lambent::api
