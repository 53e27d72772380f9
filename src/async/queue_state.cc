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
  it->second.message.seq = seq;
  by_age_.emplace(it->second.message.enqueued_ms, seq);
  if (options_.fifo) {
    const Message& m = it->second.message;
    groups_[m.group_id].members.insert(seq);
    if (!m.dedup_id.empty()) Remember(m.dedup_id, m.id, m.enqueued_ms);
  }
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
  if (options_.fifo) RefreshGroup(entry.message.group_id);
}

void QueueState::LeaseEnded(const Entry& entry) {
  if (!options_.fifo) return;
  auto it = groups_.find(entry.message.group_id);
  if (it != groups_.end() && it->second.leased > 0) --it->second.leased;
}

void QueueState::RefreshGroup(const std::string& group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  Group& g = it->second;
  if (g.ready) {
    ready_.erase(*g.ready);
    g.ready.reset();
  }
  if (g.members.empty()) {
    groups_.erase(it);
    return;
  }
  uint64_t head = *g.members.begin();
  const Entry& entry = entries_.at(head);
  if (g.leased == 0 && entry.where == Where::kVisible) {
    g.ready = std::make_pair(entry.visible_at_ms, head);
    ready_.insert(*g.ready);
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
    Entry& entry = entries_.at(seq);
    entry.where = Where::kVisible;
    visible_.emplace(visible_at, seq);
    if (options_.fifo) RefreshGroup(entry.message.group_id);
  }
  while (!leased_.empty() && leased_.begin()->first <= now_ms) {
    auto [deadline, seq] = *leased_.begin();
    leased_.erase(leased_.begin());
    Entry& entry = entries_.at(seq);
    LeaseEnded(entry);
    // Queued behind what was visible before the lease ended: a message whose consumer keeps
    // failing does not keep the head of the queue.
    MakeVisible(seq, entry, deadline, now_ms);
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
  const Index& index = options_.fifo ? ready_ : visible_;
  if (index.empty()) return std::nullopt;
  return index.begin()->second;
}

std::optional<uint64_t> QueueState::NextInGroup(uint64_t seq) const {
  if (!options_.fifo) return std::nullopt;
  const Entry& entry = entries_.at(seq);
  auto group = groups_.find(entry.message.group_id);
  if (group == groups_.end()) return std::nullopt;
  // Every member before `seq` must be leased (by this batch: the caller leased the group's
  // first message and each one since).
  auto it = group->second.members.find(seq);
  if (it == group->second.members.end() || ++it == group->second.members.end()) return std::nullopt;
  if (entries_.at(*it).where != Where::kVisible) return std::nullopt;
  return *it;
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
  if (options_.fifo) {
    ++groups_[entry.message.group_id].leased;
    RefreshGroup(entry.message.group_id);
  }
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
  if (entry.where == Where::kLeased) LeaseEnded(entry);
  MakeVisible(seq, entry, visible_at_ms, now_ms);
}

Message QueueState::Take(uint64_t seq) {
  auto it = entries_.find(seq);
  Unindex(seq, it->second);
  by_age_.erase({it->second.message.enqueued_ms, seq});
  if (options_.fifo) {
    if (it->second.where == Where::kLeased) LeaseEnded(it->second);
    std::string group = it->second.message.group_id;
    if (auto g = groups_.find(group); g != groups_.end()) g->second.members.erase(seq);
    Message message = std::move(it->second.message);
    entries_.erase(it);
    RefreshGroup(group);
    return message;
  }
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
  groups_.clear();
  ready_.clear();
  // Deduplication outlives a purge in SQS too: it is about what producers sent.
}

std::optional<std::string> QueueState::Deduplicate(const std::string& dedup_id, int64_t now_ms) {
  while (!dedup_expiry_.empty() && dedup_expiry_.front().first <= now_ms) {
    auto it = dedup_.find(dedup_expiry_.front().second);
    if (it != dedup_.end() && it->second.second <= now_ms) dedup_.erase(it);
    dedup_expiry_.pop_front();
  }
  auto it = dedup_.find(dedup_id);
  if (it == dedup_.end() || it->second.second <= now_ms) return std::nullopt;
  return it->second.first;
}

void QueueState::Remember(const std::string& dedup_id, const std::string& id, int64_t enqueued_ms) {
  int64_t expiry = enqueued_ms + kDedupWindowMs;
  auto [it, inserted] = dedup_.try_emplace(dedup_id, id, expiry);
  if (!inserted) {
    if (it->second.second >= expiry) return;
    it->second = {id, expiry};
  }
  dedup_expiry_.emplace_back(expiry, dedup_id);
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
