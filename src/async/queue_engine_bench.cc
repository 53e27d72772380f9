// Figures for the queue engine, not a test: appends per second and append-to-durable
// latency with each durability level, and lease+ack from memory. The target is
// >= 10,000 appends/s accepted with p50 <= 1 ms. One thread appends single messages, as the
// io thread would for Event invokes, with at most 1,000 waiting for the disk (as 1,000
// concurrent clients would).
//
// usage: queue_engine_bench [scratch-dir]   (default: a fresh directory under /tmp)

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "async/sqlite_queue_engine.h"

namespace lambent::async {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool Check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "failed: %s\n", what);
  return ok;
}

// Appends `total` messages of 512 bytes, at `rate_per_s` (0: as fast as it goes).
bool MeasureAppends(const fs::path& dir, Durability durability, int64_t rate_per_s, int total) {
  constexpr int kMaxWaiting = 1000;
  auto opened = SqliteQueueEngine::Open(dir, {.durability = durability});
  if (!Check(bool(opened), "open")) return false;
  SqliteQueueEngine& engine = **opened;
  if (!Check(bool(engine.CreateQueue("bench", {})), "create")) return false;
  std::vector<int64_t> latency_us(size_t(total), -1);
  std::atomic<int> waiting{0}, done{0}, failed{0};
  const std::string body(512, 'x');
  const auto start = Clock::now();
  for (int i = 0; i < total; ++i) {
    if (rate_per_s > 0) {
      std::this_thread::sleep_until(start +
                                    std::chrono::microseconds(int64_t(i) * 1'000'000 / rate_per_s));
    }
    while (waiting.load() >= kMaxWaiting) std::this_thread::yield();
    waiting++;
    const auto sent = Clock::now();
    auto ids = engine.Append(
        "bench", {NewMessage{.body = body}},
        {nullptr, [&, i, sent](Result<void> r) {
           if (!r) failed++;
           latency_us[size_t(i)] =
               std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count();
           waiting--;
           done++;
         }});
    if (!Check(bool(ids), "append")) return false;
  }
  while (done.load() < total) std::this_thread::yield();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latency_us.begin(), latency_us.end());
  std::printf(
      "%-10s at %-6s/s: %7.0f appends/s durable; append->durable p50 %5.2f ms, p99 %5.2f ms, max "
      "%6.2f ms\n",
      durability == Durability::kProcess ? "process" : "power-loss",
      rate_per_s > 0 ? std::to_string(rate_per_s).c_str() : "max", total / seconds,
      double(latency_us[size_t(total / 2)]) / 1000.0,
      double(latency_us[size_t(total * 99 / 100)]) / 1000.0, double(latency_us.back()) / 1000.0);
  return Check(failed == 0, "an append failed");
}

// Leases 10 at a time and acks each, as an event source mapping's poller would.
bool MeasureLeaseAndAck(const fs::path& dir, int total) {
  auto opened = SqliteQueueEngine::Open(dir);
  if (!Check(bool(opened), "open")) return false;
  SqliteQueueEngine& engine = **opened;
  if (!Check(bool(engine.CreateQueue("bench", {})), "create")) return false;
  for (int i = 0; i < total; i += 100) {
    std::promise<void> durable;
    auto ids = engine.Append(
        "bench", std::vector<NewMessage>(100, NewMessage{.body = std::string(512, 'x')}),
        {nullptr, [&durable](Result<void>) { durable.set_value(); }});
    if (!Check(bool(ids), "append")) return false;
    durable.get_future().wait();
  }
  const auto start = Clock::now();
  int acked = 0;
  for (;;) {
    auto leased = engine.Lease("bench", 10);
    if (!Check(bool(leased), "lease")) return false;
    if (leased->empty()) break;
    for (auto& m : *leased) {
      if (!Check(bool(engine.Ack("bench", m.receipt)), "ack")) return false;
      ++acked;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("lease(10)+ack: %7.0f messages/s\n", acked / seconds);
  return Check(acked == total, "not every message was leased");
}

int Main(int argc, char** argv) {
  fs::path dir =
      argc > 1 ? fs::path(argv[1])
               : fs::temp_directory_path() / ("lambent-queue-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  bool ok = MeasureLeaseAndAck(dir / "lease", 100'000) &&
            MeasureAppends(dir / "max", Durability::kProcess, 0, 200'000) &&
            MeasureAppends(dir / "paced", Durability::kProcess, 10'000, 50'000) &&
            MeasureAppends(dir / "paced-full", Durability::kPowerLoss, 10'000, 50'000) &&
            MeasureAppends(dir / "max-full", Durability::kPowerLoss, 0, 100'000);
  fs::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace lambent::async

int main(int argc, char** argv) { return lambent::async::Main(argc, argv); }
