#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lambent::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:9000";
  std::string data_dir = ".lambent";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string runtimes_dir;  // default: <binary dir>/../runtimes
  int max_environments = 1000;
  // Lambda's account concurrency: invocations running at once, all functions together.
  int concurrency_limit = 1000;
  // What reserved concurrency must leave to the functions without a reservation.
  int unreserved_floor = 100;
  // MemorySize of all live environments together, MiB; 0: no budget. The command line's
  // default is DefaultMemoryBudgetMb() (80% of physical memory).
  int64_t memory_budget_mb = 0;
  // How long SIGTERM waits for invocations in flight before it stops them.
  int shutdown_grace_s = 30;
  int idle_timeout_s = 600;
  int prestart = 1;
  int prestart_max = 4;
  int max_parallel_starts = 0;  // 0: twice the cores
  double scale_wait_ratio = 4;
  int64_t max_unzipped_bytes = 262144000;
  double cpu_floor = 0.25;
  bool no_sandbox = false;
  bool no_zygote = false;     // python runtimes start on their own instead of forking
  bool tmpfs_tmp = false;     // /tmp as a tmpfs (counted in memory) even where disk works
  int freeze_after_ms = 100;  // an environment idle this long is frozen; 0: never
  int64_t max_log_mb = 64;  // per function, rotated (telemetry::LogLimits)
  int64_t logs_max_mb = 1024;          // all functions' logs together
  double log_retention_scale = 1.0;    // scales a retention day (for tests)
  // The HTTP front's limits (see http::ServerOptions). 0 connections: from the open-file
  // limit. Timeouts in milliseconds.
  size_t http_max_connections = 0;
  int http_header_timeout_ms = 10000;
  int http_body_timeout_ms = 30000;
  int http_idle_timeout_ms = 60000;
  int http_write_timeout_ms = 30000;
  // What an accepted async event (a 202) survives: "process" (the daemon killed at any
  // instant) or "power-loss" (a disk sync per commit). See async::Durability.
  std::string durability = "process";
  // Scales the 1 and 2 minute waits before an async event's retries after function errors
  // (tests make them short).
  double async_retry_delay_scale = 1.0;
  // Scales the periods of rate() schedules (tests make a minute last a fraction of a second).
  double schedule_rate_scale = 1.0;
  // Usage records older than this many days are deleted by the ledger's writer; 0 keeps them.
  int usage_retention_days = 400;
  // Requests are not authenticated yet: listening where other hosts reach the daemon is
  // refused unless this says the operator knows.
  bool insecure_no_auth = false;
};

// Runs the daemon until SIGINT or SIGTERM, then stops gracefully (see GracefulShutdown).
// Returns the process exit code: 0 after a stop, whether graceful or forced.
int Serve(const ServeOptions& options);

}  // namespace lambent::cli
