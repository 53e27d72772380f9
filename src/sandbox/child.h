#pragma once

#include <sys/types.h>

#include <utility>

namespace lambent::sandbox {

// Owns a child process: the destructor kills it (SIGKILL) and reaps it. Move-only; not
// thread-safe. Killing the environment's init ends the whole environment.
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(Child&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  Child& operator=(Child&& other) noexcept {
    if (this != &other) {
      Reset();
      pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
  }
  ~Child() { Reset(); }

  pid_t pid() const { return pid_; }
  // Sends SIGKILL without reaping (the destructor still reaps).
  void Kill();
  // Kills and reaps now.
  void Reset();
  // Hands the pid over without killing or reaping it.
  pid_t Release() { return std::exchange(pid_, -1); }

 private:
  pid_t pid_ = -1;
};

}  // namespace lambent::sandbox
