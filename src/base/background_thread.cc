#include "base/background_thread.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace lambent {

void MarkBackgroundThread(const char* name) {
  ::pthread_setname_np(::pthread_self(), name);
  struct sched_param param {};
  ::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);
  // Linux applies a nice value to the one thread whose id is given.
  ::setpriority(PRIO_PROCESS, ::gettid(), 10);
}

}  // namespace lambent
