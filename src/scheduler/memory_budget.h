#pragma once

#include <cstdint>
#include <map>

namespace lambent::scheduler {

class ExecutionEnvironment;

// The host's memory budget: what each live environment is charged (its MemorySize), and
// whether one more fits. A budget of 0 or less never runs out. io thread only.
class MemoryBudget {
 public:
  explicit MemoryBudget(int64_t budget_mb) : budget_mb_(budget_mb) {}

  bool Fits(int64_t mb) const { return budget_mb_ <= 0 || in_use_mb_ + mb <= budget_mb_; }
  // Charges `env` `mb`, replacing what it was charged before (a prestarted environment that
  // a function adopts takes the function's size).
  void Charge(const ExecutionEnvironment* env, int64_t mb) {
    auto& charged = charges_[env];
    in_use_mb_ += mb - charged;
    charged = mb;
  }
  // Idempotent: an evicted environment is released when it is chosen, not when it is dead.
  void Release(const ExecutionEnvironment* env) {
    auto it = charges_.find(env);
    if (it == charges_.end()) return;
    in_use_mb_ -= it->second;
    charges_.erase(it);
  }
  int64_t budget_mb() const { return budget_mb_; }
  int64_t in_use_mb() const { return in_use_mb_; }
  int64_t charged(const ExecutionEnvironment* env) const {
    auto it = charges_.find(env);
    return it == charges_.end() ? 0 : it->second;
  }

 private:
  int64_t budget_mb_;
  int64_t in_use_mb_ = 0;
  std::map<const ExecutionEnvironment*, int64_t> charges_;
};

// What a prestarted environment is charged until a function adopts it: Lambda's smallest
// size. Its runtime waits for a function and uses a few MB; the adopting function's size
// replaces it.
inline constexpr int64_t kPrestartedChargeMb = 128;

}  // namespace lambent::scheduler
