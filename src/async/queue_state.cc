#include "async/queue_state.h"

#include <fmt/format.h>

#include <charconv>

#include "base/ids.h"

namespace lambent::async {

std::string QueueState::NewReceipt(uint64_t seq) {
  return fmt::format("{:x}-{}", seq, RandomHex(12));
}

void QueueState::Insert(uint64_t seq, Message message, int64_t visible_at_ms, int64_t now_ms) {
  auto [it, inserted] = entries_.try_emplace(seq);
  if (!inserted) return;
  it->second.message = std::move(message);
  by_age_.emplace(it->second.message.enqueued_ms, seq);
  MakeVisible(seq, it->second, visible_at_ms, now_ms);
}

void QueueState::MakeVisible(uint64_t seq, Entry& entry, int64_t visible_at_ms, int64_t now_ms) {
  entry.visible_at_ms = visible_at_ms;
  entry.receipt.clear();
  if (visible_at_ms <= now_ms) {
    entry.where = Where::kVisible;
    visible_.emplace(visible_at_ms, seq);
  } else {
    entry.where = Where::kDelayed;
    delayed_.emplace(visible_at_ms, seq);
  }
}

void QueueState::Unindex(uint64_t seq, const Entry& entry) {
  switch (entry.where) {
    case Where::kVisible:
      visible_.erase({entry.visible_at_ms, seq});
      break;
    case Where::kDelayed:
      delayed_.erase({entry.visible_at_ms, seq});
      break;
    case Where::kLeased:
      leased_.erase({entry.deadline_ms, seq});
      break;
  }
}

void QueueState::Advance(int64_t now_ms) {
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    auto [visible_at, seq] = *delayed_.begin();
    delayed_.erase(delayed_.begin());
    entries_.at(seq).where = Where::kVisible;
    visible_.emplace(visible_at, seq);
  }
  while (!leased_.empty() && leased_.begin()->first <= now_ms) {
    auto [deadline, seq] = *leased_.begin();
    leased_.erase(leased_.begin());
    // Queued behind what was visible before the lease ended: a message whose consumer keeps
    // failing does not keep the head of the queue.
    MakeVisible(seq, entries_.at(seq), deadline, now_ms);
  }
}

std::vector<uint64_t> QueueState::RemoveExpired(int64_t now_ms) {
  std::vector<uint64_t> removed;
  while (!by_age_.empty() && now_ms - by_age_.begin()->first >= options_.retention_ms) {
    uint64_t seq = by_age_.begin()->second;
    Take(seq);
    removed.push_back(seq);
  }
  return removed;
}

std::optional<uint64_t> QueueState::NextVisible() const {
  if (visible_.empty()) return std::nullopt;
  return visible_.begin()->second;
}

std::optional<int64_t> QueueState::NextChangeMs() const {
  std::optional<int64_t> next;
  if (!delayed_.empty()) next = delayed_.begin()->first;
  if (!leased_.empty() && (!next || leased_.begin()->first < *next)) next = leased_.begin()->first;
  return next;
}

LeasedMessage QueueState::Lease(uint64_t seq, int64_t now_ms, int64_t deadline_ms,
                                std::string receipt) {
  Entry& entry = entries_.at(seq);
  Unindex(seq, entry);
  entry.where = Where::kLeased;
  entry.deadline_ms = deadline_ms;
  entry.receipt = std::move(receipt);
  entry.message.receive_count++;
  if (entry.message.first_receive_ms == 0) entry.message.first_receive_ms = now_ms;
  leased_.emplace(deadline_ms, seq);
  return LeasedMessage{entry.message, entry.receipt, deadline_ms};
}

Result<uint64_t> QueueState::FindLease(std::string_view receipt) const {
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(receipt.data(), receipt.data() + receipt.size(), seq, 16);
  if (ec != std::errc() || end == receipt.data() + receipt.size() || *end != '-') {
    return tl::unexpected(Error::Invalid("the receipt handle is not valid"));
  }
  auto it = entries_.find(seq);
  if (it == entries_.end() || it->second.where != Where::kLeased || it->second.receipt != receipt) {
    return tl::unexpected(Error::NotFound("the receipt handle's lease has ended"));
  }
  return seq;
}

void QueueState::SetDeadline(uint64_t seq, int64_t deadline_ms) {
  Entry& entry = entries_.at(seq);
  leased_.erase({entry.deadline_ms, seq});
  entry.deadline_ms = deadline_ms;
  leased_.emplace(deadline_ms, seq);
}

void QueueState::Release(uint64_t seq, int64_t visible_at_ms, int64_t now_ms) {
  Entry& entry = entries_.at(seq);
  Unindex(seq, entry);
  MakeVisible(seq, entry, visible_at_ms, now_ms);
}

Message QueueState::Take(uint64_t seq) {
  auto it = entries_.find(seq);
  Unindex(seq, it->second);
  by_age_.erase({it->second.message.enqueued_ms, seq});
  Message message = std::move(it->second.message);
  entries_.erase(it);
  return message;
}

void QueueState::Clear() {
  entries_.clear();
  visible_.clear();
  delayed_.clear();
  leased_.clear();
  by_age_.clear();
}

QueueStats QueueState::Stats(int64_t now_ms) const {
  QueueStats stats;
  stats.visible = int64_t(visible_.size());
  stats.delayed = int64_t(delayed_.size());
  stats.in_flight = int64_t(leased_.size());
  if (!by_age_.empty()) stats.oldest_age_ms = std::max<int64_t>(0, now_ms - by_age_.begin()->first);
  return stats;
}

}  // namespace lambent::async
