#pragma once

#include <memory>
#include <functional>

#include <boost/asio/io_context.hpp>

#include "sandbox/cgroup.h"
#include "sandbox/child.h"

namespace lambent::scheduler {

// Reaps killed environments without blocking the io thread: a pid namespace takes up to a
// few milliseconds to die, and the io thread serves every other invocation meanwhile.
// Waits on a pidfd, then reaps init, removes the (now empty) cgroup and runs `after`.
// io thread only.
class Reaper {
 public:
  explicit Reaper(boost::asio::io_context& io) : io_(io) {}

  // `child` must already have been sent SIGKILL.
  void Adopt(sandbox::Child child, std::unique_ptr<sandbox::CgroupDir> cgroup,
             std::function<void()> after);

 private:
  boost::asio::io_context& io_;
};

}  // namespace lambent::scheduler
