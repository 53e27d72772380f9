#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace lambent::cli {

// Client commands: each talks to the daemon at `endpoint` over its HTTP API, prints what a
// person needs, and returns the process exit code (0 ok, 1 the request failed, 2 the daemon
// could not be reached or the usage was wrong).

// lambent's own version (`lambent --version`).
inline constexpr const char* kVersion = "0.9.0";

struct DeployOptions {
  std::string dir;  // a directory to zip, or a .zip file to upload as it is
  std::string name;
  std::string runtime;
  std::string handler;
  std::string description;
  int memory_mb = 0;   // 0: leave as is (128 on create)
  int timeout_s = 0;   // 0: leave as is (3 on create)
  std::vector<std::string> env;  // KEY=VALUE
  std::string network;           // "none" or "host"; empty: leave as is
};
int Deploy(const std::string& endpoint, const DeployOptions& options);

struct InvokeOptions {
  std::string name;
  std::string payload;
  std::string payload_file;
  std::string qualifier;
  bool log = false;
  bool async = false;
  bool stream = false;  // InvokeWithResponseStream: print the response as it is produced
};
int Invoke(const std::string& endpoint, const InvokeOptions& options);

int List(const std::string& endpoint, bool json_output);
int Get(const std::string& endpoint, const std::string& name);
int Remove(const std::string& endpoint, const std::string& name);
struct LogsOptions {
  std::string name;
  std::optional<size_t> tail;  // the last N lines; everything when not given (0: none)
  bool follow = false;
  bool timestamps = false;
  std::string since;   // "10m", "1h30m", "2d": only lines that recent
  std::string filter;  // a CloudWatch filter pattern: only the lines it matches
};
// "90s", "10m", "1h30m", "2d" in milliseconds; nullopt when it is not such a duration.
std::optional<int64_t> ParseDurationMs(std::string_view text);
int Logs(const std::string& endpoint, const LogsOptions& options);
// The daemon's health: whether it answers, the host's memory budget and concurrency, and per
// function and version its environments, limits, throttles and cold starts.
int Status(const std::string& endpoint);

// Versions and aliases (version_commands.cc).
struct PublishOptions {
  std::string function;
  std::string description;
  std::string code_sha256;  // publish only if $LATEST's code is this (empty: any)
  std::string revision_id;  // publish only if $LATEST is this revision (empty: any)
};
int Publish(const std::string& endpoint, const PublishOptions& options);
int Versions(const std::string& endpoint, const std::string& function, bool json_output);

struct AliasOptions {
  std::string action;  // create, update, delete, get, list
  std::string function;
  std::string alias;
  std::string version;         // FunctionVersion; empty: unchanged (update)
  std::string weight;          // "VERSION=WEIGHT": that share of calls goes to VERSION
  bool no_weight = false;      // update: send every call to the alias's version again
  std::optional<std::string> description;
  std::string revision_id;     // update, delete: only if the alias is this revision
  bool json_output = false;
};
int Alias(const std::string& endpoint, const AliasOptions& options);

// Reserved and provisioned concurrency (concurrency_command.cc). With no change asked for,
// prints both.
struct ConcurrencyOptions {
  std::string function;                 // NAME, or NAME:QUALIFIER for the provisioned flags
  std::optional<int> reserved;          // PutFunctionConcurrency
  bool unreserved = false;              // DeleteFunctionConcurrency
  std::optional<int> provisioned;       // PutProvisionedConcurrencyConfig on `qualifier`
  bool no_provisioned = false;          // DeleteProvisionedConcurrencyConfig on `qualifier`
  std::string qualifier;
  bool wait = false;                    // until the provisioned environments are READY
  int wait_timeout_s = 300;
};
int Concurrency(const std::string& endpoint, const ConcurrencyOptions& options);

// Tags (tag_commands.cc). `tags` are KEY=VALUE.
int Tag(const std::string& endpoint, const std::string& function, const std::vector<std::string>& tags);
int Untag(const std::string& endpoint, const std::string& function, const std::vector<std::string>& keys);
int Tags(const std::string& endpoint, const std::string& function, bool json_output);
// SQS-compatible queues (queue_commands.cc): `lambent queue ACTION NAME ...`, spoken in the
// SQS JSON protocol.
struct QueueOptions {
  std::string action;  // create, ls, send, read, purge, rm, stats
  std::string name;
  std::optional<int> visibility_timeout;  // create
  std::optional<int> delay;               // create (the queue's), send (this message's)
  std::optional<int> retention;           // create
  std::string dlq;                        // create: the dead-letter queue's name
  int max_receive_count = 3;              // create, with dlq
  std::string body;                       // send; "-": stdin
  std::vector<std::string> attributes;    // send: KEY=VALUE String attributes
  std::string group;                      // send: MessageGroupId
  std::string dedup_id;                   // send: MessageDeduplicationId
  bool content_dedup = false;             // create: ContentBasedDeduplication (FIFO)
  int max = 1;                            // read
  int wait = 0;                           // read: long poll seconds
  bool keep = false;                      // read: do not delete
  bool json_output = false;
};
// Declares `queue` and its actions on `app`, filling `options` when parsed.
CLI::App* AddQueueCommand(CLI::App& app, QueueOptions& options);
int Queue(const std::string& endpoint, const QueueOptions& options);
// Recent asynchronous events of a function and their fate (event_commands.cc).
struct EventsOptions {
  std::string function;
  std::string state;  // queued, running, retrying, succeeded, failed, expired; empty: all
  int limit = 100;    // 1-1000
  bool json_output = false;
};
// Declares `events` on `app`, filling `options` when parsed.
CLI::App* AddEventsCommand(CLI::App& app, EventsOptions& options);
int Events(const std::string& endpoint, const EventsOptions& options);
// Requests, billed duration, GB-seconds and cost from the usage ledger (usage_command.cc).
struct UsageOptions {
  std::string since;  // as the admin API reads times; empty: unbounded
  std::string until;  // likewise
  std::string function;  // NAME or NAME:VERSION; empty: all
  std::string by = "function";  // day, function, version, or total (no lines but the totals)
  bool json_output = false;
};
CLI::App* AddUsageCommand(CLI::App& app, UsageOptions& options);
int Usage(const std::string& endpoint, const UsageOptions& options);
int Runtimes(const std::string& endpoint);
// Prints which protections this host allows the daemon to apply, without a daemon.
int Doctor();

}  // namespace lambent::cli
