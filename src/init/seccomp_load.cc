#include "init/seccomp_load.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace lambent::init {

int LoadSeccompFilter(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno;
  if (st.st_size <= 0 || st.st_size % sizeof(sock_filter) != 0) return EINVAL;
  std::vector<sock_filter> program(size_t(st.st_size) / sizeof(sock_filter));
  if (::pread(fd, program.data(), size_t(st.st_size), 0) != st.st_size) return errno ? errno : EIO;
  sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
  // Required to install a filter without CAP_SYS_ADMIN, and what we want anyway.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return errno;
  return 0;
}

}  // namespace lambent::init
