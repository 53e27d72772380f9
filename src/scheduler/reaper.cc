#include "scheduler/reaper.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

namespace lambent::scheduler {

namespace {

struct Pending {
  Pending(boost::asio::io_context& io, int pidfd) : descriptor(io, pidfd) {}
  boost::asio::posix::stream_descriptor descriptor;
  pid_t pid = -1;
  std::unique_ptr<sandbox::CgroupDir> cgroup;
  std::function<void()> after;
};

}  // namespace

Reaper::Reaper(boost::asio::io_context& io) : io_(io), remover_([this] { RunRemover(); }) { io_thread_.BindHere(); }

Reaper::~Reaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  remover_.join();
}

void Reaper::Adopt(sandbox::Child child, std::unique_ptr<sandbox::CgroupDir> cgroup,
                   std::function<void()> after) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  int pidfd = child.pid() > 0 ? int(::syscall(SYS_pidfd_open, child.pid(), 0)) : -1;
  if (pidfd < 0) {
    // No pidfd (old kernel, or already reaped): do it the blocking way.
    child.Reset();
    cgroup.reset();
    if (after) after();
    return;
  }
  auto pending = std::make_shared<Pending>(io_, pidfd);
  pending->pid = child.Release();
  pending->cgroup = std::move(cgroup);
  pending->after = std::move(after);
  // A pidfd becomes readable when its process has exited.
  pending->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                 [this, pending](boost::system::error_code) {
                                   ::waitpid(pending->pid, nullptr, 0);
                                   Remove({std::move(pending->cgroup), std::move(pending->after)});
                                 });
}

void Reaper::Remove(Removal removal) {
  if (!removal.cgroup) {
    if (removal.after) removal.after();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    removals_.push_back(std::move(removal));
  }
  wake_.notify_one();
}

void Reaper::RunRemover() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !removals_.empty(); });
    if (removals_.empty()) return;  // stopping, and nothing left to remove
    Removal removal = std::move(removals_.front());
    removals_.pop_front();
    lock.unlock();
    removal.cgroup.reset();  // kills what is left, waits out EBUSY, removes the group
    if (removal.after) boost::asio::post(io_, std::move(removal.after));
    lock.lock();
  }
}

}  // namespace lambent::scheduler
