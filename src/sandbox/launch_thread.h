#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "base/thread_check.h"

namespace lambent::sandbox {

// The one thread that launches environments: their blocking half (detached mounts, the
// cgroup, the /tmp image's chown, the spawner round trip or a clone) runs here, in order,
// so the io thread never waits on it. One thread for the daemon's whole life, because an
// environment's parent-death signal follows the thread that forked it (see Launch).
// Post: any thread. Tasks run on the launcher thread one at a time, first posted first run.
class LaunchThread {
 public:
  // Starts the thread (named "lambent-launch").
  LaunchThread();
  // Stop().
  ~LaunchThread();
  LaunchThread(const LaunchThread&) = delete;
  LaunchThread& operator=(const LaunchThread&) = delete;

  // Runs `task` on the launcher thread. A task hands its results (and anything whose
  // destructor belongs elsewhere) back by posting them, e.g. to the io thread; the task
  // object itself is destroyed on the launcher thread. After Stop, tasks are dropped.
  void Post(std::function<void()> task);
  // Lets the task in hand finish, destroys the ones not started on the calling thread, and
  // joins the thread. Idempotent.
  void Stop();

  // The launcher thread, for LAMBENT_DCHECK_THREAD in code that must run on it.
  const ThreadAffinity& affinity() const { return affinity_; }
  // Tasks posted and not yet finished.
  size_t pending() const;

 private:
  void Run();

  ThreadAffinity affinity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  size_t running_ = 0;                       // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace lambent::sandbox
