#include "scheduler/reaper.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

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

void Reaper::Adopt(sandbox::Child child, std::unique_ptr<sandbox::CgroupDir> cgroup,
                   std::function<void()> after) {
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
                                 [pending](boost::system::error_code) {
                                   ::waitpid(pending->pid, nullptr, 0);
                                   pending->cgroup.reset();
                                   if (pending->after) pending->after();
                                 });
}

}  // namespace lambent::scheduler
