#include "sqs/long_poll.h"

#include <boost/asio/post.hpp>
#include <vector>

namespace lambent::sqs {

LongPolls::LongPolls(boost::asio::io_context& io, async::QueueEngine& engine)
    : io_(io), engine_(engine), sweep_(io) {}

LongPolls::~LongPolls() {
  for (auto& [id, poll] : polls_) {
    if (poll->watching) engine_.CancelWatch(poll->watch);
  }
}

void LongPolls::Park(const std::string& queue, std::chrono::milliseconds wait, StillWanted still_wanted,
                     Attempt attempt, GiveUp give_up) {
  if (stopped_ || wait.count() <= 0) return give_up();
  uint64_t id = next_id_++;
  auto poll = std::unique_ptr<Poll>(
      new Poll{queue, std::move(still_wanted), std::move(attempt), std::move(give_up), boost::asio::steady_timer(io_), 0, false});
  poll->timer.expires_after(wait);
  poll->timer.async_wait([this, id, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    End(id, true);
  });
  polls_.emplace(id, std::move(poll));
  Watch(id);
  if (!sweeping_ && !polls_.empty()) {
    sweeping_ = true;
    Sweep();
  }
}

void LongPolls::Sweep() {
  sweep_.expires_after(std::chrono::seconds(1));
  sweep_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    std::vector<uint64_t> gone;
    for (const auto& [id, poll] : polls_) {
      if (poll->still_wanted && !poll->still_wanted()) gone.push_back(id);
    }
    for (uint64_t id : gone) End(id, true);
    if (polls_.empty() || stopped_) {
      sweeping_ = false;
      return;
    }
    Sweep();
  });
}

void LongPolls::Watch(uint64_t id) {
  auto it = polls_.find(id);
  if (it == polls_.end()) return;
  Poll& poll = *it->second;
  auto post = [ex = io_.get_executor()](std::function<void()> fn) { boost::asio::post(ex, std::move(fn)); };
  auto watch = engine_.WatchVisible(poll.queue, post, [this, id, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    OnVisible(id);
  });
  if (!watch) {
    // The queue is gone: the attempt answers that.
    if (!poll.attempt()) return End(id, true);
    return End(id, false);
  }
  poll.watch = *watch;
  poll.watching = true;
}

void LongPolls::OnVisible(uint64_t id) {
  auto it = polls_.find(id);
  if (it == polls_.end()) return;
  it->second->watching = false;
  if (it->second->attempt()) return End(id, false);
  // Another consumer took the message first: wait for the next one.
  Watch(id);
}

void LongPolls::End(uint64_t id, bool give_up) {
  auto it = polls_.find(id);
  if (it == polls_.end()) return;
  std::unique_ptr<Poll> poll = std::move(it->second);
  polls_.erase(it);
  if (poll->watching) engine_.CancelWatch(poll->watch);
  poll->timer.cancel();
  if (give_up) poll->give_up();
}

void LongPolls::Stop() {
  stopped_ = true;
  sweep_.cancel();
  sweeping_ = false;
  while (!polls_.empty()) End(polls_.begin()->first, true);
}

}  // namespace lambent::sqs
