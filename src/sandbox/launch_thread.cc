#include "sandbox/launch_thread.h"

#include <pthread.h>
#include <sched.h>

namespace lambent::sandbox {

LaunchThread::LaunchThread() : thread_([this] { Run(); }) {}

LaunchThread::~LaunchThread() { Stop(); }

void LaunchThread::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void LaunchThread::Stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  dropped.clear();  // here, after the join: their captures may belong to this thread
}

size_t LaunchThread::pending() const {
  std::lock_guard lock(mutex_);
  return tasks_.size() + running_;
}

void LaunchThread::Run() {
  affinity_.BindHere();
  ::pthread_setname_np(::pthread_self(), "lambent-launch");
  // Waking it must not preempt the thread that posted (the io thread, on this machine's
  // few cores): SCHED_BATCH gives up wake-up preemption and nothing else.
  struct sched_param param {};
  ::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    ++running_;
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
    --running_;
  }
}

}  // namespace lambent::sandbox
