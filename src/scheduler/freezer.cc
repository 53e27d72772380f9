#include "scheduler/freezer.h"

#include <spdlog/spdlog.h>

namespace lambent::scheduler {

Freezer::Freezer(boost::asio::io_context& io, std::chrono::milliseconds delay) : timer_(io), delay_(delay) {
  io_thread_.BindHere();
}

Freezer::~Freezer() {
  Wake();
  alive_.reset();
  timer_.cancel();
}

void Freezer::Attach(sandbox::CgroupDir* cgroup) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  Wake();
  cgroup_ = cgroup && cgroup->CanFreeze() && delay_.count() > 0 ? cgroup : nullptr;
}

void Freezer::Idle() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (!cgroup_) return;
  idle_ = true;
  idle_since_ = std::chrono::steady_clock::now();
  if (!armed_) Arm(idle_since_ + delay_);
}

void Freezer::Wake() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  idle_ = false;
  if (!frozen_) return;
  frozen_ = false;
  auto start = std::chrono::steady_clock::now();
  if (auto ok = cgroup_->Thaw(); !ok) {
    // Nothing else can thaw it: the environment is stuck, and the invocation's timeout or
    // the kill that follows will say so. Never freeze it again.
    spdlog::error("cannot thaw an environment: {}", ok.error().message());
    cgroup_ = nullptr;
    return;
  }
  ++thaws_;
  last_thaw_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
}

void Freezer::Arm(SteadyTime at) {
  armed_ = true;
  timer_.expires_at(at);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    OnTimer();
  });
}

void Freezer::OnTimer() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  armed_ = false;
  if (!idle_ || frozen_ || !cgroup_) return;
  // Woken and idle again since the timer was set: wait out the rest of the new idle spell.
  SteadyTime due = idle_since_ + delay_;
  if (std::chrono::steady_clock::now() < due) return Arm(due);
  if (auto ok = cgroup_->Freeze(); !ok) {
    static bool warned = false;
    if (!std::exchange(warned, true)) {
      spdlog::warn("idle environments are not frozen: {}", ok.error().message());
    }
    cgroup_ = nullptr;
    return;
  }
  frozen_ = true;
}

}  // namespace lambent::scheduler
