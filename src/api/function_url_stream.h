#pragma once

#include <memory>
#include <optional>
#include <string>

#include "http/server.h"
#include "scheduler/invocation.h"
#include "urls/url_config.h"

namespace lambent::api {

// Answers a function URL in RESPONSE_STREAM mode while the function produces its response:
// the status, headers and cookies of its prelude (or a 200 with its content type), then the
// body with chunked transfer, piece by piece. Lives as the invocation's StreamSink.
class UrlStreamRelay : public scheduler::StreamSink {
 public:
  UrlStreamRelay(http::Responder respond, std::shared_ptr<const http::Request> request_head,
                 std::optional<urls::Cors> cors, std::string request_id);

  void OnStreamStart(std::string_view content_type) override;
  void OnStreamPiece(std::string_view piece) override;
  // The invocation's end: the last chunk, or (a function error midway) a cut connection;
  // an answer that was never streamed becomes an ordinary response.
  void Finish(scheduler::Outcome outcome);

 private:
  void Start(http::Response head);
  // A 200 with the function's own content type, at its first byte.
  void StartPlain();
  void Fail();

  std::optional<http::Responder> respond_;
  std::optional<http::StreamWriter> writer_;
  std::shared_ptr<const http::Request> request_head_;
  std::optional<urls::Cors> cors_;
  std::string request_id_;
  std::optional<std::string> content_type_;  // a plain stream's, until its first byte
  bool awaiting_prelude_ = false;
  std::string prelude_;  // what came before the separator, while it is awaited
};

}  // namespace lambent::api
