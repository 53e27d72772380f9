#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/server.h"

namespace lambent::cli {

// What the daemon does, in order, to stop. Each step runs on the io thread.
struct ShutdownSteps {
  // No new connection or request is taken; requests being handled go on, and their
  // responses are written (DrainingHandler::Refuse, then http::Server::Stop).
  std::function<void()> stop_accepting;
  // Refuses new invocations and calls `drained` once none runs or waits (scheduler::Drain).
  std::function<void(std::function<void()> drained)> drain;
  // Invocations running now, for the log.
  std::function<int()> in_flight;
  // Stops every environment at once (scheduler::Shutdown); their callers get an error.
  std::function<void()> kill;
  // Connections open now: once none is, every response has been written.
  std::function<size_t()> open_connections;
  // Ends the event loop; the daemon then exits 0.
  std::function<void()> stop;
};

// Stops the daemon gracefully on SIGTERM or SIGINT: stop accepting, let the invocations in
// flight finish within `grace`, then stop every environment and end the loop. A second
// signal, or the end of `grace`, stops what is still running at once. Once the environments
// are stopped the loop runs up to `flush` longer, while connections are open, so that the
// last responses reach their callers. io thread only (the one running `io`); `steps` must
// stay valid while it lives.
class GracefulShutdown {
 public:
  GracefulShutdown(boost::asio::io_context& io, std::chrono::milliseconds grace,
                   ShutdownSteps steps, std::chrono::milliseconds flush = std::chrono::seconds(1));

  // What a signal does; tests call it directly.
  void OnSignal(int signal);

 private:
  enum class State { kServing, kDraining, kFlushing };

  void WaitForSignal();
  void KillAndFlush(std::string_view why);
  void Flush();

  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;  // the grace period, then the flush's polls
  std::chrono::milliseconds grace_;
  std::chrono::milliseconds flush_;
  ShutdownSteps steps_;
  State state_ = State::kServing;
  std::chrono::steady_clock::time_point flush_deadline_;
};

// The daemon's HTTP front, which can stop taking requests: once Refuse() is called, requests on
// connections that were open before are answered 503 ServiceException ("the daemon is
// stopping"), except lambent's own read-only admin resources (health, status), which show the
// drain going on. Everything else goes to `inner`. io thread only; `inner` must outlive it.
class DrainingHandler : public http::Handler {
 public:
  explicit DrainingHandler(http::Handler& inner) : inner_(inner) {}

  void Refuse() { refusing_ = true; }

  uint64_t BodyLimit(const http::RequestHeader& header) const override {
    return inner_.BodyLimit(header);
  }
  http::Response Reject(const http::RequestHeader& header, uint64_t limit) override {
    return inner_.Reject(header, limit);
  }
  void Handle(http::Request request, http::Responder respond) override;
  http::Response ProtocolError(unsigned status, std::string_view message) override {
    return inner_.ProtocolError(status, message);
  }

 private:
  http::Handler& inner_;
  bool refusing_ = false;
};

}  // namespace lambent::cli
