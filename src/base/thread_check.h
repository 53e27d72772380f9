#pragma once

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

// Thread affinity, checked instead of stated in comments: an object that belongs to one
// thread (the io thread, the launcher thread) holds a ThreadAffinity, and each method that
// must run there starts with LAMBENT_DCHECK_THREAD(affinity_). A call from any other thread
// aborts with the file, the line and both threads. The checks are compiled in where
// LAMBENT_THREAD_CHECKS is 1 (every build type but Release: src/base/CMakeLists.txt) and cost
// a thread-local read and a compare; the class has the same layout either way.
namespace lambent {

// The thread an object belongs to: the one that constructed it (BindHere()), or else the
// first one that checks it. Thread-safe.
class ThreadAffinity {
 public:
  // Unbound: the first Check binds it.
  ThreadAffinity() = default;
  ThreadAffinity(const ThreadAffinity&) = delete;
  ThreadAffinity& operator=(const ThreadAffinity&) = delete;

  // Bound to the calling thread, e.g. in a constructor that runs on the owning thread.
  void BindHere() {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    owner_tid_.store(::gettid(), std::memory_order_relaxed);
  }
  // Whether the calling thread is the owner (binding it when unbound).
  bool OnOwner() const {
    std::thread::id self = std::this_thread::get_id();
    std::thread::id owner = owner_.load(std::memory_order_relaxed);
    if (owner == self) return true;
    if (owner == std::thread::id() && owner_.compare_exchange_strong(owner, self, std::memory_order_relaxed)) {
      owner_tid_.store(::gettid(), std::memory_order_relaxed);
      return true;
    }
    return owner == self;
  }
  // Aborts unless called on the owner. `what` names the check in the message.
  void Check(const char* what, const char* file, int line) const {
    if (OnOwner()) return;
    char self_name[16] = "?";
    ::pthread_getname_np(::pthread_self(), self_name, sizeof(self_name));
    std::fprintf(stderr, "%s:%d: %s called on thread %d (%s); it belongs to thread %d\n", file, line, what,
                 int(::gettid()), self_name, int(owner_tid_.load(std::memory_order_relaxed)));
    std::abort();
  }

 private:
  mutable std::atomic<std::thread::id> owner_{};
  mutable std::atomic<pid_t> owner_tid_{0};  // for the message only
};

}  // namespace lambent

#if LAMBENT_THREAD_CHECKS
// Aborts unless the calling thread is the one `affinity` (a ThreadAffinity) belongs to.
#define LAMBENT_DCHECK_THREAD(affinity) (affinity).Check(__func__, __FILE__, __LINE__)
#else
#define LAMBENT_DCHECK_THREAD(affinity) ((void)0)
#endif
