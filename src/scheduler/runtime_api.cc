// The daemon's side of an environment's Runtime API: the runtime's requests (/next, results,
// init errors, a prestarted runtime's request for its function) and the events it is given.
#include <fcntl.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/encoding.h"
#include "base/ids.h"
#include "base/json.h"
#include "init/protocol.h"
#include "scheduler/environment.h"
#include "scheduler/error_documents.h"
#include "telemetry/report.h"

namespace lambent::scheduler {

namespace beast_http = http::beast_http;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxResponseBytes = 6291556;  // Lambda's synchronous response limit
constexpr uint64_t kMaxStreamBytes = 20 * 1024 * 1024;  // and its streamed response limit
constexpr std::string_view kRuntimePrefix = "/2018-06-01/runtime/";
// Where a prestarted runtime (lambent's own) waits for its function: not part of Lambda's API.
constexpr std::string_view kAssignmentPath = "/lambent/v1/runtime/assignment";

http::Response RuntimeError(unsigned status, std::string_view type, std::string_view message) {
  return http::MakeResponse(status, DumpJson(json{{"errorMessage", message}, {"errorType", type}}));
}

std::string TraceId() {
  return fmt::format("Root=1-{:08x}-{};Parent={};Sampled=0", NowEpochMs() / 1000, RandomHex(12),
                     RandomHex(8));
}

bool IsResponse(const http::RequestHeader& header) {
  return std::string_view(header.target().data(), header.target().size()).ends_with("/response");
}

bool IsStreaming(const http::RequestHeader& header) {
  return IsResponse(header) &&
         boost::beast::iequals(header["Lambda-Runtime-Function-Response-Mode"], "streaming");
}

std::string TooLarge(uint64_t limit) {
  return ErrorDocument("Function.ResponseSizeTooLarge",
                       fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).", limit));
}

std::string FunctionArn(const EnvironmentContext& c, const registry::FunctionConfig& f) {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", c.region, c.account_id, f.name);
}

}  // namespace

uint64_t Environment::BodyLimit(const http::RequestHeader& header) const {
  if (IsStreaming(header)) return kMaxStreamBytes;
  if (IsResponse(header)) return kMaxResponseBytes;
  return 1024 * 1024;
}

http::Response Environment::Reject(const http::RequestHeader& header, uint64_t limit) {
  std::string_view target(header.target().data(), header.target().size());
  if (active_ && active_->delivered && target.ends_with("/response") &&
      target.find(active_->invocation->request_id) != std::string_view::npos) {
    Complete({TooLarge(limit), true}, false);
  }
  return RuntimeError(413, "RequestEntityTooLarge",
                      fmt::format("Request must be smaller than {} bytes", limit));
}

http::BodyPieceSink Environment::StreamBody(const http::RequestHeader& header) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (!IsStreaming(header) || !active_ || !active_->delivered) return nullptr;
  std::string_view target(header.target().data(), header.target().size());
  const std::string& id = active_->invocation->request_id;
  if (!target.ends_with(fmt::format("/invocation/{}/response", id))) return nullptr;
  BeginStream(header);
  // Pieces of an invocation that has ended meanwhile (timed out, too large) go nowhere.
  return [weak = weak_from_this(), id](std::string_view piece) {
    auto self = weak.lock();
    if (self && self->active_ && self->active_->streaming && self->active_->invocation->request_id == id) {
      self->OnStreamPiece(piece);
    }
  };
}

void Environment::BeginStream(const http::RequestHeader& header) {
  active_->streaming = true;
  if (auto& sink = active_->invocation->stream) {
    std::string_view type = header[beast_http::field::content_type];
    sink->OnStreamStart(type.empty() ? "application/octet-stream" : type);
  }
}

void Environment::OnStreamPiece(std::string_view piece) {
  if (auto& sink = active_->invocation->stream) return sink->OnStreamPiece(piece);
  if (active_->overflowed) return;
  if (active_->joined.size() + piece.size() > kMaxResponseBytes) {
    active_->overflowed = true;
    active_->joined.clear();
    active_->joined.shrink_to_fit();
    return;
  }
  active_->joined.append(piece);
}

Outcome Environment::StreamOutcome(const http::Request& request) {
  // A streaming post with a Content-Length arrives whole: it is one piece.
  if (!request.body().empty()) OnStreamPiece(request.body());
  Outcome outcome;
  auto type = request.find("Lambda-Runtime-Function-Error-Type");
  if (type != request.end()) {
    outcome.function_error = true;
    auto body = request.find("Lambda-Runtime-Function-Error-Body");
    if (body != request.end()) {
      auto decoded = Base64Decode(body->value());
      if (decoded && json::parse(*decoded, nullptr, false).is_object()) outcome.body = std::move(*decoded);
    }
    if (outcome.body.empty()) outcome.body = ErrorDocument(std::string(type->value()), "");
    return outcome;
  }
  if (active_->overflowed) return {TooLarge(kMaxResponseBytes), true};
  if (!active_->invocation->stream) outcome.body = std::move(active_->joined);
  return outcome;
}

void Environment::Handle(http::Request request, http::Responder respond) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  // Whatever a function sends must cost at most its own environment, never the daemon.
  try {
    Route(request, respond);
  } catch (const std::exception& e) {
    spdlog::error("environment {}: {} {}: {}", log_stream_, std::string_view(request.method_string()),
                  ValidUtf8(request.target()), e.what());
    if (respond.connected()) respond(RuntimeError(500, "ServiceException", "internal error"));
  } catch (...) {
    spdlog::error("environment {}: unknown exception", log_stream_);
    if (respond.connected()) respond(RuntimeError(500, "ServiceException", "internal error"));
  }
}

void Environment::Route(http::Request& request, http::Responder& respond) {
  if (dead_) return;
  std::string_view target(request.target().data(), request.target().size());
  if (target == kAssignmentPath && request.method() == beast_http::verb::get) {
    return OnAssignmentRequest(std::move(respond));
  }
  if (!target.starts_with(kRuntimePrefix)) {
    return respond(RuntimeError(404, "NotFound", "unknown Runtime API path"));
  }
  std::string_view path = target.substr(kRuntimePrefix.size());
  bool post = request.method() == beast_http::verb::post;
  if (path == "invocation/next" && request.method() == beast_http::verb::get) {
    return OnNext(std::move(respond));
  }
  if (path == "init/error" && post) return OnInitError(request, std::move(respond));
  if (post && path.starts_with("invocation/")) {
    std::string_view rest = path.substr(11);
    auto slash = rest.rfind('/');
    if (slash != std::string_view::npos) {
      std::string id(rest.substr(0, slash));
      std::string_view action = rest.substr(slash + 1);
      if (action == "response") return OnResult(id, request, false, std::move(respond));
      if (action == "error") return OnResult(id, request, true, std::move(respond));
    }
  }
  respond(RuntimeError(404, "NotFound", "unknown Runtime API path"));
}

void Environment::OnAssignmentRequest(http::Responder respond) {
  if (kind_ != Kind::kPrestarted || parked_assignment_ || startup_.ready.time_since_epoch().count()) {
    return respond(RuntimeError(403, "InvalidStateTransition", "this environment is not waiting for a function"));
  }
  parked_assignment_ = std::move(respond);
  startup_.ready = std::chrono::steady_clock::now();
  timer_.cancel();  // the start deadline: waiting for a function may take as long as it takes
  BecomeAvailable();
}

void Environment::OnAssigned(int error) {
  if (!adopted_ || !parked_assignment_ || error != 0) {
    spawn_errno_ = error;
    return Die(DeathCause::kAssignFailed);
  }
  startup_.assigned = std::chrono::steady_clock::now();
  json variables = json::object();
  for (const auto& variable : RuntimeEnvironment("/var/task")) {
    auto eq = variable.find('=');
    variables[variable.substr(0, eq)] = variable.substr(eq + 1);
  }
  auto respond = std::move(*parked_assignment_);
  parked_assignment_.reset();
  respond(http::MakeResponse(200, DumpJson(json{{"Environment", variables}})));
}

void Environment::OnNext(http::Responder respond) {
  if (kind_ == Kind::kPrestarted && !startup_.assigned.time_since_epoch().count()) {
    return respond(RuntimeError(403, "InvalidStateTransition", "this environment has no function yet"));
  }
  if (!initialized_) {
    initialized_ = true;
    startup_.first_next = std::chrono::steady_clock::now();
    // Lambda's Init Duration is the runtime's and the function's own start, not the
    // sandbox's: from the runtime's execve on (a prestarted one's: from its assignment).
    SteadyTime from = adopted_                                         ? startup_.adopted
                      : startup_.runtime_started.time_since_epoch().count() ? startup_.runtime_started
                                                                          : startup_.cloned;
    // A provisioned environment's init ran ahead of demand: Lambda's REPORT leaves it out.
    if (kind_ != Kind::kProvisioned) {
      init_duration_ms_ = std::chrono::duration<double, std::milli>(startup_.first_next - from).count();
    }
    timer_.cancel();
    EndInitBoost();
  }
  if (active_ && !active_->delivered) return Deliver(std::move(respond));
  parked_next_.push_back(std::move(respond));
  BecomeAvailable();
}

std::unique_ptr<Invocation> Environment::Assign(std::unique_ptr<Invocation> invocation) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  // Before the event is written: a runtime frozen before it got back to /next asks then.
  freezer_.Wake();
  available_ = false;
  bool abandoned = false;
  while (!parked_next_.empty()) {
    auto respond = std::move(parked_next_.front());
    parked_next_.pop_front();
    // An event written to a /next the runtime has given up on would be lost, and its caller
    // would wait out the whole timeout: only a connection still open gets it.
    if (!respond.peer_open()) {
      abandoned = true;
      continue;
    }
    active_ = std::make_unique<Active>();
    active_->invocation = std::move(invocation);
    Deliver(std::move(respond));
    return nullptr;
  }
  // The runtime dropped every /next it had: the event goes to another environment, and
  // this one is available again when its runtime asks anew.
  if (abandoned) return invocation;
  // It has just answered, and its next /next is on the way (OnNext delivers).
  active_ = std::make_unique<Active>();
  active_->invocation = std::move(invocation);
  return nullptr;
}

void Environment::Deliver(http::Responder respond) {
  Invocation& inv = *active_->invocation;
  active_->delivered = true;
  active_->started = std::chrono::steady_clock::now();
  ++invocations_;
  if (inv.trace_id.empty()) inv.trace_id = TraceId();
  int64_t now_ms = NowEpochMs();
  auto log_format =
      telemetry::PlatformLogFormat::Of(config_->logging.log_format, config_->logging.system_log_level);
  if (auto start = telemetry::PlatformStart(log_format, inv.request_id, config_->version, inv.trace_id, now_ms);
      !start.empty()) {
    Log(start);
  }

  int64_t deadline = now_ms + int64_t(config_->timeout_s) * 1000;
  http::Response response{beast_http::status::ok, 11};
  response.set("Lambda-Runtime-Aws-Request-Id", inv.request_id);
  response.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline));
  response.set("Lambda-Runtime-Invoked-Function-Arn",
               inv.invoked_arn.empty() ? FunctionArn(context_, *config_) : inv.invoked_arn);
  response.set("Lambda-Runtime-Trace-Id", inv.trace_id);
  if (!inv.client_context.empty()) response.set("Lambda-Runtime-Client-Context", inv.client_context);
  response.set(beast_http::field::content_type, "application/json");
  response.body() = std::move(inv.payload);
  respond(std::move(response));

  timer_.expires_after(std::chrono::seconds(config_->timeout_s));
  timer_.async_wait([self = shared_from_this(), id = inv.request_id](boost::system::error_code ec) {
    if (!ec && self->active_ && self->active_->invocation->request_id == id) {
      self->Die(DeathCause::kTimeout);
    }
  });
}

void Environment::OnResult(const std::string& id, http::Request& request, bool is_error,
                           http::Responder respond) {
  if (!active_ || !active_->delivered || active_->invocation->request_id != id) {
    if (id == last_completed_id_) {
      return respond(RuntimeError(403, "InvalidStateTransition",
                                  "State transition from Ready to InvocationResponse failed"));
    }
    return respond(RuntimeError(400, "InvalidRequestID", "Invalid request ID"));
  }
  respond(http::MakeResponse(202, R"({"status":"OK"})"));
  DrainOutput();
  Outcome outcome;
  outcome.function_error = is_error;
  // A streaming response sent with a Content-Length was read whole: it starts only now.
  if (!is_error && !active_->streaming && IsStreaming(request.base())) BeginStream(request.base());
  if (active_->streaming && !is_error) {
    outcome = StreamOutcome(request);
  } else if (!is_error) {
    outcome.body = std::move(request.body());
  } else {
    // The runtime's error document goes to the caller as it is when it is one; otherwise
    // build one from what the runtime said (the Node client sends no type header).
    auto doc = json::parse(request.body(), nullptr, false);
    if (doc.is_object()) {
      outcome.body = std::move(request.body());
    } else {
      auto type_header = request.find("Lambda-Runtime-Function-Error-Type");
      std::string type = type_header != request.end() ? std::string(type_header->value()) : "Unhandled";
      outcome.body = ErrorDocument(type, request.body());
    }
  }
  Complete(std::move(outcome), false);
  BecomeAvailable();
}

void Environment::BecomeAvailable() {
  if (dead_ || active_ || available_) return;
  available_ = true;
  idle_since_ = std::chrono::steady_clock::now();
  freezer_.Idle();
  listener_->OnAvailable(shared_from_this());
}

void Environment::OnInitError(http::Request& request, http::Responder respond) {
  auto doc = json::parse(request.body(), nullptr, false);
  auto type_header = request.find("Lambda-Runtime-Function-Error-Type");
  std::string type = type_header != request.end() ? std::string(type_header->value()) : "Runtime.Unknown";
  if (!doc.is_object()) doc = json{{"errorMessage", request.body()}};
  if (!doc.contains("errorType")) doc["errorType"] = type;
  init_error_ = DumpJson(doc);
  respond(http::MakeResponse(202, R"({"status":"OK"})"));
}

}  // namespace lambent::scheduler
