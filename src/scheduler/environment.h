#pragma once

#include <array>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/clock.h"
#include "base/thread_check.h"
#include "http/server.h"
#include "runtimes/catalog.h"
#include "sandbox/cgroup.h"
#include "sandbox/launch_thread.h"
#include "sandbox/launcher.h"
#include "sandbox/tmp_pool.h"
#include "sandbox/zygote.h"
#include "scheduler/execution_environment.h"
#include "scheduler/freezer.h"
#include "scheduler/invocation.h"
#include "scheduler/reaper.h"
#include "telemetry/invocation_record.h"
#include "telemetry/log_store.h"
#include "telemetry/report.h"

namespace lambent::scheduler {

// What every environment needs from the daemon. Outlives all environments.
struct EnvironmentContext {
  boost::asio::io_context& io;
  telemetry::LogStore& logs;
  const runtimes::Catalog& catalog;
  std::string init_path;
  sandbox::Capabilities capabilities;
  std::string region;
  std::string account_id;
  // Where a code package (by its key) is extracted.
  std::function<std::filesystem::path(const std::string& code_key)> code_dir;

  // Sandboxing, when the host allows it (capabilities.user_namespace).
  bool sandboxed = false;
  int runtimes_dir_fd = -1;                       // O_PATH, kept open by the daemon
  int init_fd = -1;                               // O_PATH of lambent-init
  int seccomp_fd = -1;                            // compiled deny-list
  sandbox::CgroupManager* cgroups = nullptr;      // null: no limits (logged at start)
  sandbox::HostIds* host_ids = nullptr;
  double cpu_floor = 0.1;                         // vCPUs for the smallest functions
  Reaper* reaper = nullptr;                       // null: reap synchronously
  int spawner_fd = -1;                            // sandbox::Spawner's socket; -1: none
  // Forks python runtimes instead of starting them, for functions a prestarted runtime could
  // serve too (PrestartShapeOf); used on the launcher thread only. Null: none.
  sandbox::ZygoteKeeper* python_zygote = nullptr;
  sandbox::TmpPool* tmp_pool = nullptr;           // disk-backed /tmp; null: a tmpfs
  std::chrono::milliseconds freeze_after{100};    // idle this long: frozen (0: never)
  // Holds a code package while an environment may read it (code::PackageInfo::in_use), so
  // that deleting its function cannot pull it away; unset: nothing to hold.
  std::function<std::shared_ptr<const void>(const std::string& code_key)> hold_code;
  // Where the blocking half of a start (mounts, cgroup, clone) runs; it must outlive every
  // launch posted to it. Null: on the calling thread, inside Start().
  sandbox::LaunchThread* launcher = nullptr;
  // Told of every invocation's end (metering, metrics); null: nobody is.
  telemetry::InvocationObserver* observer = nullptr;
};

// The variables the python zygote starts with, before any function asks for it: those a
// sandboxed python runtime's interpreter reads as it starts, for functions that set none of
// them. A function whose runtime would start with others is not forked from it.
std::vector<std::string> PythonZygoteEnvironment();

// Adds the time from its construction to its end to `total` (what the io thread spends on
// an environment's start).
class ScopedSpan {
 public:
  explicit ScopedSpan(std::chrono::nanoseconds& total) : total_(total), since_(std::chrono::steady_clock::now()) {}
  ~ScopedSpan() { total_ += std::chrono::steady_clock::now() - since_; }
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

 private:
  std::chrono::nanoseconds& total_;
  SteadyTime since_;
};

// One execution environment: lambent-init, the runtime under it, and the daemon's side of
// its Runtime API. Serves one invocation at a time. Lives on the io thread, which constructs
// it (checked: LAMBENT_DCHECK_THREAD); not thread-safe. Only its launch runs elsewhere, on
// context.launcher, which holds it alive meanwhile and posts the result back.
class Environment : public ExecutionEnvironment,
                    public http::Handler,
                    public std::enable_shared_from_this<Environment> {
 public:
  using Kind = EnvironmentKind;
  // A kPrestarted environment starts with a stand-in `config` (runtime and memory only) and
  // gets its function with Adopt().
  Environment(EnvironmentContext& context, registry::ConfigPtr config, EnvironmentListener& listener,
              Kind kind = Kind::kOnDemand);
  ~Environment() override;

  // Launches init and the runtime; the listener hears OnAvailable once the runtime asks for
  // its first event, or OnDead. The io thread only decides (ids, command, variables); the
  // mounts, the cgroup and the clone happen on context.launcher. An error here means nothing
  // was started; a failure there arrives as OnDead with an `init_failure` whose `error` is
  // set (TooManyRequests when out of descriptors, else Internal). Kill() meanwhile ends the
  // environment once the launch is back: OnDead then, once.
  Result<void> Start() override;
  // Makes a prestarted environment, after OnAvailable, `config`'s: its limits, its code at
  // /var/task, its environment variables for the runtime. From then on it is an ordinary
  // environment in its initializing state, reporting to `listener`. An error here leaves the
  // environment unchanged (and it should be killed); the limits, the mount and the message to
  // init are done on context.launcher, and when they fail the environment dies: `listener`
  // hears OnDead without an init failure, so the invocation can take another environment.
  Result<void> Adopt(registry::ConfigPtr config, EnvironmentListener& listener) override;
  // Runs `invocation` here; only after OnAvailable and before the next Assign. Gives it back
  // when the runtime has abandoned every /next it was waiting on (the environment is then
  // not available until its runtime asks again): run it elsewhere.
  [[nodiscard]] std::unique_ptr<Invocation> Assign(std::unique_ptr<Invocation> invocation) override;
  // Ends the environment; an invocation in it fails with Runtime.ExitError.
  void Kill() override;
  // After a failed start (OnDead's `init_failure`): records it as the failed request of
  // `invocation`, as Lambda does: START/END/REPORT with "Status: error" in the function's
  // log, the request id in the error document, and the init output in the log tail.
  void RecordFailedStart(const Invocation& invocation, Outcome& failure) const override;

  const registry::FunctionConfig& config() const override { return *config_; }
  EnvironmentStatus Status() const override;
  bool dead() const override { return dead_; }
  bool initialized() const { return initialized_; }
  bool waiting_for_function() const { return kind_ == Kind::kPrestarted && !adopted_; }
  SteadyTime idle_since() const override { return idle_since_; }

  // http::Handler, for the Runtime API connections init hands over.
  uint64_t BodyLimit(const http::RequestHeader& header) const override;
  http::Response Reject(const http::RequestHeader& header, uint64_t limit) override;
  void Handle(http::Request request, http::Responder respond) override;
  // A streaming response's body goes on to the caller piece by piece as it arrives.
  http::BodyPieceSink StreamBody(const http::RequestHeader& header) override;

 private:
  enum class DeathCause { kExited, kKilled, kTimeout, kInitTimeout, kSpawnFailed, kAssignFailed };
  struct Launch;      // a start's blocking half, and what it hands back (environment_launch.cc)
  struct Assignment;  // the same for Adopt()
  struct Active {
    std::unique_ptr<Invocation> invocation;
    bool delivered = false;
    SteadyTime started;
    std::string tail;  // START..REPORT, kept only when the caller asked for the log tail
    bool streaming = false;     // the runtime is posting its response in streaming mode
    bool overflowed = false;    // ... and it outgrew what a buffered caller may get
    std::string joined;         // ... its pieces, for a caller that wants the response whole
  };

  // Handle()'s body; throws only on a bug, which Handle() answers with a 500.
  void Route(http::Request& request, http::Responder& respond);
  std::vector<std::string> RuntimeEnvironment(const std::filesystem::path& task_root) const;
  std::vector<std::string> PrestartEnvironment() const;
  // The vCPUs an environment has until its runtime is initialized (see Limits()).
  static constexpr double kInitCpus = 1.0;
  sandbox::CgroupLimits Limits() const;
  // The function's own CPU share, once its init phase is over (on the launcher thread).
  void EndInitBoost();
  void OnCpuShareSet(const Result<void>& ok);
  static void RunLaunch(Launch& launch, const EnvironmentContext& context);  // launcher thread
  void OnLaunched(Launch& launch);
  // Ends the environment if it died while tasks were on the launcher thread and none is left.
  void DieIfDeferred();
  static void RunAssignment(Assignment& assignment, const EnvironmentContext& context);  // launcher thread
  void OnAssignmentSent(Assignment& assignment);
  void OnAssignmentRequest(http::Responder respond);
  void OnAssigned(int error);
  void WatchControl();
  void OnControlReadable();
  void ReadOutput();
  void OnOutput(std::string_view bytes);
  void DrainOutput();
  void ResumeOutput();  // the output pipe back from a pause, into epoll
  void KeepInitOutput(std::string_view bytes);

  void OnNext(http::Responder respond);
  void Deliver(http::Responder respond);
  void OnResult(const std::string& id, http::Request& request, bool is_error,
                http::Responder respond);
  void BeginStream(const http::RequestHeader& header);
  void OnStreamPiece(std::string_view piece);
  // How a streamed response ended: the runtime's error trailers, or what the caller gets.
  Outcome StreamOutcome(const http::Request& request);
  void OnInitError(http::Request& request, http::Responder respond);
  void BecomeAvailable();
  void Complete(Outcome outcome, bool timed_out);
  // How an invocation ended, as the observer is told.
  struct OutcomeKind {
    std::string error_type;
    bool function_error = false;
    bool timed_out = false;
  };
  void Observe(const Invocation& invocation, const OutcomeKind& kind, const telemetry::Report& report) const;
  void Die(DeathCause cause, int detail = 0);
  std::string ExitReason() const;
  int64_t MaxMemoryUsedMb() const;
  // How long init may take. Lambda gives an on-demand init 10 s and retries a longer one
  // within the invoke's own timeout, so the whole cold start may take both; a provisioned
  // init may take 130 s or the function's timeout, whichever is longer.
  std::chrono::seconds InitBudget() const;
  bool OomKilled() const;
  void Log(std::string_view text);

  ThreadAffinity io_thread_;
  EnvironmentContext& context_;
  registry::ConfigPtr config_;
  EnvironmentListener* listener_;
  const Kind kind_;
  std::shared_ptr<const void> code_hold_;        // declared before process_: outlives it
  std::unique_ptr<sandbox::CgroupDir> cgroup_;  // declared before process_: outlives it
  Freezer freezer_;  // of cgroup_, declared after it
  std::optional<uid_t> host_id_;
  sandbox::LaunchedEnvironment process_;
  boost::asio::posix::stream_descriptor control_;
  boost::asio::posix::stream_descriptor output_;
  boost::asio::steady_timer timer_;  // init deadline, then each invocation's timeout
  // Between reads of output that keeps coming: lets the pipe fill (kOutputPause), held out of
  // output_ (and epoll) in paused_output_ meanwhile.
  boost::asio::steady_timer output_pause_;
  Fd paused_output_;
  std::array<char, 16384> output_buffer_;
  std::vector<std::shared_ptr<http::Session>> sessions_;
  // /next requests waiting for an event. aws-lambda-ric may ask on several connections.
  std::deque<http::Responder> parked_next_;
  std::optional<http::Responder> parked_assignment_;  // a prestarted runtime waiting for its function
  std::unique_ptr<Active> active_;
  std::string last_completed_id_;
  std::string init_error_;  // the runtime's /init/error document
  std::string init_output_;  // the last of what the runtime wrote before it was initialized
  std::string log_stream_;
  pid_t runtime_pid_ = -1;  // as the host sees it
  int64_t last_max_memory_mb_ = 0;  // read just before the runtime was killed
  int exit_status_ = -1;
  int spawn_errno_ = 0;
  StartupTimeline startup_;
  int64_t invocations_ = 0;
  SteadyTime idle_since_;
  std::optional<double> init_duration_ms_;  // until the first REPORT shows it
  bool initialized_ = false;
  bool adopted_ = false;
  bool available_ = false;
  bool dead_ = false;
  // Its tasks on the launcher thread (the launch, the assignment, the CPU share after init).
  // They use its cgroup and descriptors, so a Die() meanwhile waits for the last of them.
  int launcher_tasks_ = 0;
  std::optional<DeathCause> deferred_death_;
};

}  // namespace lambent::scheduler
