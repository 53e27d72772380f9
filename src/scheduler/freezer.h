#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/clock.h"
#include "base/thread_check.h"
#include "sandbox/cgroup.h"

namespace lambent::scheduler {

// Freezes an idle environment's cgroup, as Lambda freezes an environment between
// invocations: whatever its function left running (a forked child, a timer) uses no CPU
// until the next event. The freeze happens only once the environment has stayed idle for
// `delay`, so an environment under load, idle for microseconds between invocations, is never
// frozen; Idle() and Wake() cost a few stores, and the timer re-arms itself at most once per
// `delay`. Wake() thaws with one write to a descriptor the cgroup keeps open.
// On the io thread only, the one that constructs it (checked); not thread-safe.
class Freezer {
 public:
  // `delay` zero: never freezes.
  Freezer(boost::asio::io_context& io, std::chrono::milliseconds delay);
  ~Freezer();
  Freezer(const Freezer&) = delete;
  Freezer& operator=(const Freezer&) = delete;

  // The group to freeze; borrowed, and it must outlive the Freezer or be replaced (null: none,
  // as when the environment's cgroup is handed to the reaper). A group that cannot freeze
  // (v1 without the freezer hierarchy) is ignored.
  void Attach(sandbox::CgroupDir* cgroup);
  // The environment has nothing to do from now on: frozen after `delay` unless woken first.
  void Idle();
  // The environment is about to get work, or to be killed (a frozen v1 process sits out a
  // SIGKILL): on return it is thawed. The daemon may write to the environment's sockets
  // before or after this; a frozen process reads them once thawed.
  void Wake();

  bool frozen() const { return frozen_; }
  int64_t thaws() const { return thaws_; }
  // The last thaw's write, in nanoseconds.
  int64_t last_thaw_ns() const { return last_thaw_ns_; }

 private:
  void Arm(SteadyTime at);
  void OnTimer();

  ThreadAffinity io_thread_;
  boost::asio::steady_timer timer_;
  // A timer handler already queued when the Freezer goes runs anyway, with success: it
  // checks this first. (shared_ptr: only for the weak_ptr the handler holds.)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  const std::chrono::milliseconds delay_;
  sandbox::CgroupDir* cgroup_ = nullptr;
  SteadyTime idle_since_;
  bool idle_ = false;
  bool armed_ = false;
  bool frozen_ = false;
  int64_t thaws_ = 0;
  int64_t last_thaw_ns_ = 0;
};

}  // namespace lambent::scheduler
