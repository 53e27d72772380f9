#include "init/sandbox_setup.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "init/seccomp_load.h"

namespace lambent::init {
namespace {

// The new root is built on a tmpfs mounted over /tmp: in our private mount namespace that
// hides nothing anyone else sees, and every source we still need is held open by an fd.
constexpr const char* kRoot = "/tmp";

std::string Fail(const std::string& call, const std::string& what) {
  return call + "(" + what + "): " + std::strerror(errno);
}

std::string In(const std::string& path) { return std::string(kRoot) + path; }

// Mount flags a bind remount must keep: a user namespace may not clear locked ones.
unsigned long LockedFlags(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

std::string BindReadOnly(const std::string& source, const std::string& target, unsigned long extra = MS_NOSUID) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Fail("mount --bind", source + " " + target);
  }
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra | LockedFlags(target);
  if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) != 0) {
    return Fail("mount -o remount,ro", target);
  }
  return "";
}

std::string MakeDir(const std::string& path, mode_t mode = 0755) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return Fail("mkdir", path);
  return "";
}

std::string MakeFile(const std::string& path, const std::string& content = "") {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail("open", path);
  ssize_t n = content.empty() ? 0 : ::write(fd, content.data(), content.size());
  ::close(fd);
  if (n != ssize_t(content.size())) return Fail("write", path);
  return "";
}

// Mirrors one top-level host directory: a symlink stays a symlink (merged /usr), a
// directory is bound read-only, a missing one is skipped.
std::string MirrorHostDir(const std::string& name) {
  std::string host = "/" + name;
  struct stat st;
  if (::lstat(host.c_str(), &st) != 0) return "";
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(host.c_str(), target, sizeof(target) - 1);
    if (n < 0) return Fail("readlink", host);
    target[n] = '\0';
    if (::symlink(target, In(host).c_str()) != 0) return Fail("symlink", In(host));
    return "";
  }
  if (!S_ISDIR(st.st_mode)) return "";
  if (auto e = MakeDir(In(host)); !e.empty()) return e;
  return BindReadOnly(host, In(host));
}

std::string SetUpEtc() {
  if (auto e = MakeDir(In("/etc")); !e.empty()) return e;
  // Our own user database: nothing about the host's users leaks in.
  if (auto e = MakeFile(In("/etc/passwd"), "root:x:0:0:root:/tmp:/usr/sbin/nologin\n"
                                           "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
      !e.empty()) {
    return e;
  }
  if (auto e = MakeFile(In("/etc/group"), "root:x:0:\nnogroup:x:65534:\n"); !e.empty()) return e;
  if (auto e = MakeFile(In("/etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"); !e.empty()) {
    return e;
  }
  for (const char* file : {"/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/ld.so.cache"}) {
    if (::access(file, R_OK) != 0) continue;
    if (auto e = MakeFile(In(file)); !e.empty()) return e;
    if (auto e = BindReadOnly(file, In(file)); !e.empty()) return e;
  }
  // Certificates for TLS clients, and Debian's alternatives links (some interpreters and
  // tools in /usr/bin resolve through them).
  for (const char* dir : {"/etc/ssl", "/etc/ca-certificates", "/etc/alternatives"}) {
    struct stat st;
    if (::stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (auto e = MakeDir(In(dir)); !e.empty()) return e;
    if (auto e = BindReadOnly(dir, In(dir)); !e.empty()) return e;
  }
  return "";
}

std::string SetUpDev() {
  std::string dev = In("/dev");
  if (auto e = MakeDir(dev); !e.empty()) return e;
  if (::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) {
    return Fail("mount tmpfs", dev);
  }
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string host = std::string("/dev/") + node;
    if (::access(host.c_str(), F_OK) != 0) continue;
    std::string target = dev + "/" + node;
    if (auto e = MakeFile(target); !e.empty()) return e;
    // Device nodes need a mount without nodev; they are the host's own, bound one by one.
    if (::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) return Fail("mount --bind", host);
  }
  if (auto e = MakeDir(dev + "/shm", 01777); !e.empty()) return e;
  if (::mount("tmpfs", (dev + "/shm").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") != 0) {
    return Fail("mount tmpfs", dev + "/shm");
  }
  const char* links[][2] = {{"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (auto& [target, name] : links) {
    if (::symlink(target, (dev + "/" + name).c_str()) != 0) return Fail("symlink", dev + "/" + name);
  }
  return "";
}

std::string BringUpLoopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail("socket", "loopback");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  std::string error;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    error = Fail("ioctl SIOCGIFFLAGS", "lo");
  } else {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) error = Fail("ioctl SIOCSIFFLAGS", "lo");
  }
  ::close(fd);
  return error;
}

// /tmp: the daemon's disk-backed file system (not charged to the function's memory), or a
// tmpfs of the same size where the host cannot make one.
std::string MountTmp(const SandboxOptions& options) {
  if (options.tmp_mount_fd >= 0) {
    int moved = int(::syscall(SYS_move_mount, options.tmp_mount_fd, "", AT_FDCWD, In("/tmp").c_str(),
                              MOVE_MOUNT_F_EMPTY_PATH));
    int e = errno;
    ::close(options.tmp_mount_fd);
    errno = e;
    return moved == 0 ? "" : Fail("move_mount", "/tmp");
  }
  std::string tmp_options = "mode=1777,size=" + std::to_string(options.tmp_size_mb) + "m";
  if (::mount("tmpfs", In("/tmp").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, tmp_options.c_str()) != 0) {
    return Fail("mount tmpfs", "/tmp");
  }
  return "";
}

}  // namespace

std::string SetUpSandbox(const SandboxOptions& options) {
  // Nothing we mount may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return Fail("mount --make-rprivate", "/");
  if (::mount("tmpfs", kRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0) {
    return Fail("mount tmpfs", "new root");
  }
  for (const char* name : {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    if (auto e = MirrorHostDir(name); !e.empty()) return e;
  }
  if (auto e = SetUpEtc(); !e.empty()) return e;
  for (const char* dir : {"/var", "/var/task", "/var/runtime", "/opt", "/proc", "/tmp"}) {
    if (auto e = MakeDir(In(dir)); !e.empty()) return e;
  }
  // The daemon prepared both as detached read-only mounts.
  for (auto [fd, target] : {std::pair{kCodeDirFd, "/var/task"}, std::pair{kRuntimesDirFd, "/var/runtime"}}) {
    if (fd == kCodeDirFd && options.defer_code) continue;
    if (::syscall(SYS_move_mount, fd, "", AT_FDCWD, In(target).c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      return Fail("move_mount", target);
    }
  }
  if (auto e = MountTmp(options); !e.empty()) return e;
  // We are PID 1 of a new pid namespace: this /proc shows only the environment.
  if (::mount("proc", In("/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return Fail("mount proc", "/proc");
  }
  if (auto e = SetUpDev(); !e.empty()) return e;

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
  // nothing of the host reachable.
  if (::chdir(kRoot) != 0) return Fail("chdir", "new root");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return Fail("pivot_root", "new root");
  if (::umount2(".", MNT_DETACH) != 0) return Fail("umount2", "old root");
  if (::chdir("/") != 0) return Fail("chdir", "/");
  if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return Fail("mount -o remount,ro", "/");
  }
  ::close(kCodeDirFd);
  ::close(kRuntimesDirFd);

  if (::sethostname(options.hostname.data(), options.hostname.size()) != 0) return Fail("sethostname", options.hostname);
  if (options.own_network) {
    if (auto e = BringUpLoopback(); !e.empty()) return e;
  }
  // Lambda's limits.
  struct rlimit nofile {1024, 1024}, core {0, 0}, nproc {1024, 1024};
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  ::setrlimit(RLIMIT_CORE, &core);
  ::setrlimit(RLIMIT_NPROC, &nproc);
  return "";
}

std::string AttachCode(int code_fd, int tmp_size_mb, int tmp_fd) {
  if (::syscall(SYS_move_mount, code_fd, "", AT_FDCWD, "/var/task", MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return Fail("move_mount", "/var/task");
  }
  if (tmp_fd >= 0) {
    // On top of the prestarted tmpfs, which holds nothing and stays out of sight: unmounting
    // it first would wait for an RCU grace period on the cold start's path.
    if (::syscall(SYS_move_mount, tmp_fd, "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      return Fail("move_mount", "/tmp");
    }
    return "";
  }
  // Resizing keeps what is in /tmp: nothing of the function's yet.
  std::string tmp_options = "size=" + std::to_string(tmp_size_mb) + "m";
  if (::mount(nullptr, "/tmp", nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, tmp_options.c_str()) != 0) {
    return Fail("mount -o remount", "/tmp");
  }
  return "";
}

std::string LockDown() {
  // Lock root out of ever regaining capabilities through execve or setuid, then drop the
  // bounding set and the current sets.
  if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) != 0) {
    return Fail("prctl", "PR_SET_SECUREBITS");
  }
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return Fail("prctl", "PR_CAPBSET_DROP");
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return Fail("capset", "0");
  if (int e = LoadSeccompFilter(kSeccompFd); e != 0) {
    errno = e;
    return Fail("seccomp", "deny-list");
  }
  ::close(kSeccompFd);
  return "";
}

}  // namespace lambent::init
