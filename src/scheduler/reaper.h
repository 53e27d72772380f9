#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "base/thread_check.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"

namespace lambent::scheduler {

// Reaps killed environments without blocking the io thread: a pid namespace takes up to a
// few milliseconds to die, and the io thread serves every other invocation meanwhile.
// Waits on a pidfd and reaps init on the io thread; the (now empty) cgroup is removed on a
// thread of the Reaper's own, since rmdir of a group can be refused (EBUSY) for a while
// after its last process; `after` then runs back on the io thread.
// Adopt: on the io thread only, the one that constructs it (checked). Destroying it removes
// the groups still queued.
class Reaper {
 public:
  explicit Reaper(boost::asio::io_context& io);
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // `child` must already have been sent SIGKILL.
  void Adopt(sandbox::Child child, std::unique_ptr<sandbox::CgroupDir> cgroup,
             std::function<void()> after);

 private:
  struct Removal {
    std::unique_ptr<sandbox::CgroupDir> cgroup;
    std::function<void()> after;
  };
  void Remove(Removal removal);
  void RunRemover();

  boost::asio::io_context& io_;
  ThreadAffinity io_thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Removal> removals_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;         // GUARDED_BY(mutex_)
  std::thread remover_;
};

}  // namespace lambent::scheduler
