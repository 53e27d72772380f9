#include "cli/shutdown.h"

#include <signal.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lambent::cli {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

// How often the flush looks whether every connection has closed.
constexpr std::chrono::milliseconds kFlushPoll{10};

}  // namespace

GracefulShutdown::GracefulShutdown(asio::io_context& io, std::chrono::milliseconds grace,
                                   ShutdownSteps steps, std::chrono::milliseconds flush)
    : signals_(io, SIGINT, SIGTERM),
      timer_(io),
      grace_(grace),
      flush_(flush),
      steps_(std::move(steps)) {
  WaitForSignal();
}

void GracefulShutdown::WaitForSignal() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    // Waiting again before acting: a signal that arrives meanwhile is queued for the next
    // wait rather than left to its default action, which would end the process mid-cleanup.
    WaitForSignal();
    OnSignal(signal);
  });
}

void GracefulShutdown::OnSignal(int signal) {
  switch (state_) {
    case State::kServing: {
      state_ = State::kDraining;
      steps_.stop_accepting();
      int running = steps_.in_flight ? steps_.in_flight() : 0;
      if (grace_.count() <= 0) {
        spdlog::info("signal {}: stopping now (--shutdown-grace 0)", signal);
        return KillAndFlush("no grace period");
      }
      if (running > 0) {
        spdlog::info(
            "signal {}: stopping: no new connections or calls; {} invocation(s) in flight get up "
            "to {:g} s to finish (another SIGTERM or SIGINT stops them now)",
            signal, running, double(grace_.count()) / 1000);
      } else {
        spdlog::info("signal {}: stopping: no new connections or calls, none in flight", signal);
      }
      timer_.expires_after(grace_);
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && state_ == State::kDraining) KillAndFlush("the grace period is over");
      });
      // May run at once, when nothing is in flight.
      steps_.drain([this] {
        if (state_ == State::kDraining) KillAndFlush("every invocation has finished");
      });
      return;
    }
    case State::kDraining:
      return KillAndFlush(fmt::format("signal {} during the grace period", signal));
    case State::kFlushing:
      // Environments are stopped already; the last responses are on their way out.
      spdlog::info("signal {}: already stopping", signal);
      return;
  }
}

void GracefulShutdown::KillAndFlush(std::string_view why) {
  state_ = State::kFlushing;
  timer_.cancel();
  int running = steps_.in_flight ? steps_.in_flight() : 0;
  if (running > 0) {
    spdlog::warn("stopping every environment ({}): {} invocation(s) still running are ended", why,
                 running);
  } else {
    spdlog::info("stopping every environment ({})", why);
  }
  steps_.kill();
  flush_deadline_ = steady_clock::now() + flush_;
  Flush();
}

void GracefulShutdown::Flush() {
  if (steps_.open_connections() == 0 || steady_clock::now() >= flush_deadline_) {
    signals_.cancel();
    steps_.stop();
    return;
  }
  timer_.expires_after(kFlushPoll);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Flush();
  });
}

void DrainingHandler::Handle(http::Request request, http::Responder respond) {
  if (refusing_) {
    // lambent's admin reads answer on, so that an operator can watch the drain.
    bool admin_read = request.method() == http::beast_http::verb::get &&
                      request.target().starts_with("/lambent/v1/");
    if (!admin_read) {
      auto response = inner_.ProtocolError(503, "The daemon is stopping: it takes no new requests");
      response.set(http::beast_http::field::retry_after, "1");
      return respond(std::move(response));
    }
  }
  inner_.Handle(std::move(request), std::move(respond));
}

}  // namespace lambent::cli
