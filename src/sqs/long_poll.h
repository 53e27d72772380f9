#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "async/queue_engine.h"

namespace lambent::sqs {

// ReceiveMessage calls parked until their queue has a visible message or their wait ends:
// each waits on the engine's WatchVisible and a timer, never on a thread. Lives on the io
// thread: every method must be called there, and every callback runs there.
class LongPolls {
 public:
  // Tries to answer: true once the call is answered (messages leased, or an error), false
  // to keep waiting.
  using Attempt = std::function<bool()>;
  // Answers the call with no messages.
  using GiveUp = std::function<void()>;
  // Whether the client still waits; empty: always.
  using StillWanted = std::function<bool()>;

  LongPolls(boost::asio::io_context& io, async::QueueEngine& engine);
  LongPolls(const LongPolls&) = delete;
  LongPolls& operator=(const LongPolls&) = delete;
  ~LongPolls();

  // Parks a call for up to `wait`: `attempt` runs whenever `queue` may have a message, and
  // `give_up` once if none came in time, or as soon as a sweep (each second) finds
  // `still_wanted` false, so a client that left does not hold its connection for the rest of
  // the wait. Exactly one of them ends the call. After Stop, gives up at once.
  void Park(const std::string& queue, std::chrono::milliseconds wait, StillWanted still_wanted, Attempt attempt,
            GiveUp give_up);
  // Gives up every parked call, and every later one at once.
  void Stop();
  size_t parked() const { return polls_.size(); }

 private:
  struct Poll {
    std::string queue;
    StillWanted still_wanted;
    Attempt attempt;
    GiveUp give_up;
    boost::asio::steady_timer timer;
    async::QueueEngine::WatchId watch = 0;
    bool watching = false;
  };

  void Watch(uint64_t id);
  void OnVisible(uint64_t id);
  void End(uint64_t id, bool give_up);
  void Sweep();

  boost::asio::io_context& io_;
  async::QueueEngine& engine_;
  std::map<uint64_t, std::unique_ptr<Poll>> polls_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  boost::asio::steady_timer sweep_;
  bool sweeping_ = false;
  // Callbacks the engine posts may outlive this object; they check this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambent::sqs
