#include "sandbox/child.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

namespace lambent::sandbox {

void Child::Kill() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void Child::Reset() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace lambent::sandbox
