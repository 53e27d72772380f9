#include "scheduler/environment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "base/json.h"
#include "init/protocol.h"
#include "scheduler/error_documents.h"
#include "telemetry/report.h"

namespace lambent::scheduler {

namespace asio = boost::asio;
namespace beast_http = http::beast_http;
using nlohmann::json;

namespace {

// How long output that keeps coming waits before it is read again: at 100,000 lines a
// second the pipe holds a few hundred lines by then, read in one go.
constexpr std::chrono::milliseconds kOutputPause{2};

// The host pid of init's only child. With a pid namespace init's view of it is useless.
pid_t FindRuntimePid(pid_t init_pid) {
  std::ifstream children(fmt::format("/proc/{0}/task/{0}/children", init_pid));
  pid_t pid = -1;
  children >> pid;
  return pid;
}

}  // namespace

Environment::Environment(EnvironmentContext& context, registry::ConfigPtr config,
                         EnvironmentListener& listener, Kind kind)
    : context_(context),
      config_(std::move(config)),
      listener_(&listener),
      kind_(kind),
      freezer_(context.io, context.freeze_after),
      control_(context.io),
      output_(context.io),
      timer_(context.io),
      output_pause_(context.io) {
  io_thread_.BindHere();
}

Environment::~Environment() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  // Normally Die() ran; this covers a daemon shutdown that drops the pools.
  freezer_.Wake();
  process_.init.Reset();
  if (host_id_ && context_.host_ids) context_.host_ids->Release(*host_id_);
}

std::vector<std::string> Environment::RuntimeEnvironment(const std::filesystem::path& task_root) const {
  const auto& f = *config_;
  std::string runtime_dir =
      context_.sandboxed ? std::string("/var/runtime") : context_.catalog.runtimes_dir().string();
  std::vector<std::string> env{
      "AWS_LAMBDA_FUNCTION_NAME=" + f.name,
      "AWS_LAMBDA_FUNCTION_VERSION=" + f.version,
      fmt::format("AWS_LAMBDA_FUNCTION_MEMORY_SIZE={}", f.memory_mb),
      "AWS_LAMBDA_LOG_GROUP_NAME=" + registry::LogGroupOf(f),
      "AWS_LAMBDA_LOG_STREAM_NAME=" + log_stream_,
      kind_ == Kind::kProvisioned ? "AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency"
                                  : "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      "AWS_REGION=" + context_.region,
      "AWS_DEFAULT_REGION=" + context_.region,
      "_HANDLER=" + f.handler,
      "LAMBDA_TASK_ROOT=" + task_root.string(),
      "LAMBDA_RUNTIME_DIR=" + runtime_dir,
      "TZ=:UTC",
      "LANG=en_US.UTF-8",
      "PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin",
      fmt::format("LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:{0}:{0}/lib:{1}:{1}/lib:/opt/lib",
                  runtime_dir, task_root.string()),
  };
  if (f.logging.json()) {
    // Lambda's runtimes read these to write JSON records and filter by level; with Text
    // they stay unset, as before LoggingConfig.
    env.push_back("AWS_LAMBDA_LOG_FORMAT=JSON");
    const std::string& level = f.logging.application_log_level;
    env.push_back("AWS_LAMBDA_LOG_LEVEL=" + (level.empty() ? std::string("INFO") : level));
  }
  if (auto exec_env = runtimes::Catalog::ExecutionEnv(f.runtime); !exec_env.empty()) {
    env.push_back("AWS_EXECUTION_ENV=" + exec_env);
  }
  if (f.runtime.starts_with("python")) {
    // The code directory is shared by every environment of a version and must stay as
    // uploaded (it becomes read-only with the sandbox).
    env.push_back("PYTHONDONTWRITEBYTECODE=1");
  }
  if (f.runtime.starts_with("nodejs")) {
    env.push_back(fmt::format("NODE_PATH=/opt/nodejs/node_modules:{}/node_modules:{}", runtime_dir,
                              task_root.string()));
  }
  // The function's own values win over the defaults it may override (LANG, TZ, PATH, ...):
  // the first of two equal names is the one getenv finds.
  for (const auto& [key, value] : f.environment) {
    auto same = std::find_if(env.begin(), env.end(), [&](const std::string& v) {
      return v.size() > key.size() && v[key.size()] == '=' && v.starts_with(key);
    });
    if (same != env.end()) {
      *same = key + "=" + value;
    } else {
      env.push_back(key + "=" + value);
    }
  }
  return env;
}

std::vector<std::string> Environment::PrestartEnvironment() const {
  // What the interpreter reads as it starts, the same for every function of its runtime;
  // the function's own variables come with the assignment.
  constexpr std::string_view kKeep[] = {"TZ=", "LANG=", "PATH=", "LD_LIBRARY_PATH=", "LAMBDA_TASK_ROOT=",
                                        "LAMBDA_RUNTIME_DIR=", "PYTHONDONTWRITEBYTECODE=", "NODE_PATH="};
  std::vector<std::string> env;
  for (auto& variable : RuntimeEnvironment("/var/task")) {
    if (std::any_of(std::begin(kKeep), std::end(kKeep), [&](auto key) { return variable.starts_with(key); })) {
      env.push_back(std::move(variable));
    }
  }
  env.push_back("LAMBENT_AWAIT_ASSIGNMENT=1");
  return env;
}

sandbox::CgroupLimits Environment::Limits() const {
  sandbox::CgroupLimits limits;
  limits.memory_bytes = int64_t(config_->memory_mb) << 20;
  limits.cpus = sandbox::CpusForMemory(config_->memory_mb, context_.cpu_floor);
  // The init phase runs at a full vCPU at least: a runtime started ahead of demand is the
  // platform's cost, not a function's, and a small function's interpreter start held to a
  // quarter of a CPU by a 10 ms CFS period would take four times as long. The function's
  // share applies from its runtime's first /next on (EndInitBoost).
  if (!initialized_) limits.cpus = std::max(limits.cpus, kInitCpus);
  return limits;
}

void Environment::EndInitBoost() {
  if (!cgroup_) return;
  double cpus = Limits().cpus;
  if (cpus >= kInitCpus) return;  // its share is a full vCPU or more: nothing changes
  if (!context_.launcher) {
    if (auto ok = cgroup_->SetCpus(cpus); !ok) OnCpuShareSet(ok);
    return;
  }
  // A quota write takes the kernel ~0.2 ms (it updates every CPU's run queue): not on the
  // io thread. The environment is not ended meanwhile (Die waits, as for a launch), so the
  // group stays.
  ++launcher_tasks_;
  context_.launcher->Post([self = shared_from_this(), cgroup = cgroup_.get(), cpus, &io = context_.io]() mutable {
    auto ok = cgroup->SetCpus(cpus);
    asio::post(io, [self = std::move(self), ok = std::move(ok)] {
      --self->launcher_tasks_;
      self->OnCpuShareSet(ok);
    });
  });
}

void Environment::OnCpuShareSet(const Result<void>& ok) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  if (!ok) spdlog::warn("environment {}: cannot set its CPU share after init: {}", log_stream_, ok.error().message());
  // It may have died while the share was being set: end it now that nothing else uses its group.
  DieIfDeferred();
}

void Environment::DieIfDeferred() {
  if (!deferred_death_ || launcher_tasks_ > 0) return;
  dead_ = false;
  Die(*std::exchange(deferred_death_, std::nullopt));
}

void Environment::WatchControl() {
  control_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](boost::system::error_code ec) {
                        if (ec || self->dead_) return;
                        self->OnControlReadable();
                      });
}

void Environment::OnControlReadable() {
  for (;;) {
    auto received = init::Receive(control_.native_handle());
    if (!received) {
      if (received.error().sys_errno() == EAGAIN) break;
      return Die(DeathCause::kKilled);
    }
    if (!*received) {
      // init is gone; its exit status, if it told us, says why.
      return Die(exit_status_ >= 0 ? DeathCause::kExited : DeathCause::kKilled);
    }
    init::Message& m = (*received)->message;
    switch (m.type) {
      case init::MessageType::kReady: {
        auto at = [](int64_t ns) { return SteadyTime(std::chrono::nanoseconds(ns)); };
        startup_.init_started = at(m.timeline.started_ns);
        startup_.sandboxed = at(m.timeline.sandboxed_ns);
        startup_.runtime_started = at(m.timeline.runtime_started_ns);
        runtime_pid_ = (context_.capabilities.pid_namespace || context_.sandboxed)
                           ? FindRuntimePid(process_.init.pid())
                           : m.pid;
        break;
      }
      case init::MessageType::kConnection: {
        asio::ip::tcp::socket socket(context_.io);
        boost::system::error_code ec;
        socket.assign(asio::ip::tcp::v4(), (*received)->fd.release(), ec);
        if (ec) break;
        std::erase_if(sessions_, [](const auto& s) { return !s || s.use_count() == 1; });
        // Runtime clients may send ~1 MiB error-cause headers.
        sessions_.push_back(http::Serve(std::move(socket), *this, {.header_limit = 2 * 1024 * 1024}));
        break;
      }
      case init::MessageType::kExited:
        exit_status_ = m.value;
        return Die(DeathCause::kExited);
      case init::MessageType::kSpawnFailed:
        spawn_errno_ = m.value;
        return Die(DeathCause::kSpawnFailed);
      case init::MessageType::kAssigned:
        OnAssigned(m.value);
        if (dead_) return;
        break;
      case init::MessageType::kAssign:
      case init::MessageType::kTmpMount:
        return Die(DeathCause::kKilled);  // init never sends it
    }
  }
  WatchControl();
}

void Environment::ReadOutput() {
  // Waits, then reads here: an async_read_some may read speculatively, so bytes could sit in
  // output_buffer_ undelivered while DrainOutput (at a result) reads what came after them
  // into the same buffer, and the log would get them out of order and overwritten.
  output_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       if (ec || self->dead_) return;
                       for (;;) {
                         ssize_t n = ::read(self->output_.native_handle(), self->output_buffer_.data(),
                                            self->output_buffer_.size());
                         if (n > 0) {
                           self->OnOutput(std::string_view(self->output_buffer_.data(), size_t(n)));
                         } else if (n < 0 && errno == EINTR) {
                           continue;
                         } else if (n < 0 && errno == EAGAIN) {
                           // A runtime that writes line by line would otherwise wake this
                           // thread for every line (100,000 a second from a busy logger,
                           // taken from every other function's invocations). Out of epoll
                           // meanwhile: registered (edge-triggered) every write would still
                           // wake it, wait or no wait. A result still drains the pipe at
                           // once (DrainOutput), so no line comes late.
                           self->paused_output_ = Fd(self->output_.release());
                           self->output_pause_.expires_after(kOutputPause);
                           return self->output_pause_.async_wait([self](boost::system::error_code ec) {
                             if (ec || self->dead_) return;
                             self->ResumeOutput();
                             self->ReadOutput();
                           });
                         } else {
                           return;  // end of file: init and the runtime are gone
                         }
                       }
                     });
}

void Environment::OnOutput(std::string_view bytes) {
  if (waiting_for_function()) {
    // Nothing of a function's yet: lambent's own runtime only writes when something is wrong.
    spdlog::warn("prestarted environment {}: {}", log_stream_, bytes.substr(0, 2048));
    return;
  }
  context_.logs.Append(config_->name, bytes, log_stream_);
  if (!initialized_) KeepInitOutput(bytes);
  if (active_ && active_->invocation->tail_log) {
    active_->tail.append(bytes);
    if (active_->tail.size() > 4 * kTailBytes) active_->tail.erase(0, active_->tail.size() - kTailBytes);
  }
}

void Environment::ResumeOutput() {
  if (!paused_output_) return;
  boost::system::error_code ignored;
  output_.assign(paused_output_.release(), ignored);
}

void Environment::DrainOutput() {
  // The runtime wrote its output before it sent its result, so it is in the pipe already.
  ResumeOutput();
  if (!output_.is_open()) return;
  for (;;) {
    ssize_t n = ::read(output_.native_handle(), output_buffer_.data(), output_buffer_.size());
    if (n <= 0) break;
    OnOutput(std::string_view(output_buffer_.data(), size_t(n)));
  }
}

void Environment::KeepInitOutput(std::string_view bytes) {
  init_output_.append(bytes);
  if (init_output_.size() > 2 * kTailBytes) init_output_.erase(0, init_output_.size() - kTailBytes);
}

void Environment::Log(std::string_view text) {
  if (waiting_for_function()) return;
  context_.logs.Append(config_->name, text, log_stream_);
  if (!initialized_) KeepInitOutput(text);
  if (active_ && active_->invocation->tail_log) active_->tail.append(text);
}

void Environment::Complete(Outcome outcome, bool timed_out) {
  if (!active_) return;
  std::unique_ptr<Active> active = std::move(active_);
  timer_.cancel();
  Invocation& inv = *active->invocation;
  last_completed_id_ = inv.request_id;
  double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - active->started).count();

  // What the ledger and metrics learn, taken before `outcome` moves to the caller.
  OutcomeKind outcome_kind;
  if (context_.observer) {
    outcome_kind = {outcome.function_error ? ErrorTypeOf(outcome.body) : std::string(), outcome.function_error,
                    timed_out};
  }
  auto write_report = [&] {
    telemetry::Report report{inv.request_id, duration_ms, config_->memory_mb,
                             runtime_pid_ > 0 ? MaxMemoryUsedMb() : last_max_memory_mb_,
                             std::exchange(init_duration_ms_, std::nullopt), timed_out};
    if (context_.observer) Observe(inv, outcome_kind, report);
    std::string lines;
    const auto& logging = config_->logging;
    auto format = telemetry::PlatformLogFormat::Of(logging.log_format, logging.system_log_level);
    // Text's END and REPORT carry no time: the clock is read only where a line has one.
    int64_t now_ms = format.json || timed_out ? NowEpochMs() : 0;
    if (timed_out) lines += telemetry::TimeoutLine(format, inv.request_id, config_->timeout_s, now_ms);
    lines += telemetry::PlatformEnd(format, report, now_ms);
    if (!lines.empty()) context_.logs.Append(config_->name, lines, log_stream_);
    if (inv.tail_log) active->tail += lines;
  };

  outcome.streamed = active->streaming && inv.stream != nullptr;
  auto done = std::move(inv.done);
  if (inv.tail_log) {
    write_report();
    size_t keep = std::min(active->tail.size(), kTailBytes);
    outcome.log_tail = active->tail.substr(active->tail.size() - keep);
    done(std::move(outcome));
  } else {
    // The caller's answer first; the bookkeeping after it is off the latency path.
    done(std::move(outcome));
    write_report();
  }
}

void Environment::Observe(const Invocation& inv, const OutcomeKind& kind, const telemetry::Report& report) const {
  telemetry::InvocationRecord record;
  record.end_ms = NowEpochMs();
  record.function = config_->name;
  record.version = config_->version;
  record.request_id = inv.request_id;
  record.trace_id = inv.trace_id;
  record.source = SourceName(inv.source);
  record.duration_ms = report.duration_ms;
  record.billed_ms = telemetry::BilledMs(report.duration_ms);
  record.memory_mb = config_->memory_mb;
  record.init_duration_ms = report.init_duration_ms;
  record.provisioned = kind_ == Kind::kProvisioned;
  record.max_memory_used_mb = report.max_memory_used_mb;
  if (kind.timed_out) {
    record.outcome = "timeout";
  } else if (!kind.function_error) {
    record.outcome = "success";
  } else {
    // The runtime died under the function: the platform's kill, not the function's error.
    bool crashed = kind.error_type == "Runtime.OutOfMemory" || kind.error_type == "Runtime.ExitError";
    record.outcome = crashed ? "crash" : "error";
  }
  record.error_type = kind.error_type;
  context_.observer->OnInvocation(record);
}

std::string Environment::ExitReason() const {
  std::string reason;
  if (exit_status_ < 0) {
    reason = "Runtime exited with error: signal: killed";
  } else if (WIFSIGNALED(exit_status_)) {
    std::string name = sigabbrev_np(WTERMSIG(exit_status_)) ? sigabbrev_np(WTERMSIG(exit_status_)) : "?";
    reason = fmt::format("Runtime exited with error: signal: {}", WTERMSIG(exit_status_) == SIGKILL ? "killed" : name);
  } else if (WEXITSTATUS(exit_status_) == 0) {
    reason = "Runtime exited without providing a reason";
  } else {
    reason = fmt::format("Runtime exited with error: exit status {}", WEXITSTATUS(exit_status_));
  }
  return reason;
}

void Environment::Die(DeathCause cause, int detail) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  (void)detail;
  if (dead_) return;
  dead_ = true;
  available_ = false;
  if (launcher_tasks_ > 0) {
    // Its cgroup and descriptors are in use on the launcher thread (or there is nothing to
    // end yet): DieIfDeferred ends it, and says OnDead, once they are back.
    deferred_death_ = cause;
    return;
  }
  auto self = shared_from_this();
  timer_.cancel();
  output_pause_.cancel();
  DrainOutput();
  boost::system::error_code ignored;
  control_.close(ignored);
  output_.close(ignored);
  for (auto& session : sessions_) http::Close(session);
  sessions_.clear();
  parked_next_.clear();
  // The peak must be read while the runtime still exists.
  int64_t peak_before_kill = (active_ || !initialized_) ? MaxMemoryUsedMb() : 0;
  if (active_) last_max_memory_mb_ = peak_before_kill;
  bool oom = OomKilled();
  // A frozen v1 process sits out SIGKILL; the reaper gets the cgroup thawed.
  freezer_.Attach(nullptr);
  // Killing init ends the environment: the kernel tears its pid namespace down. Reaping
  // (and removing the cgroup, and freeing the host id) happens when that is done.
  process_.init.Kill();
  if (context_.reaper) {
    std::function<void()> after;
    if (host_id_ && context_.host_ids) {
      after = [ids = context_.host_ids, id = *host_id_] { ids->Release(id); };
      host_id_.reset();
    }
    context_.reaper->Adopt(std::move(process_.init), std::move(cgroup_), std::move(after));
  } else {
    process_.init.Reset();
  }
  runtime_pid_ = -1;

  std::unique_ptr<Invocation> undelivered;
  if (active_ && !active_->delivered) {
    undelivered = std::move(active_->invocation);
    active_.reset();
  }
  if (active_) {
    std::string id = active_->invocation->request_id;
    if (cause == DeathCause::kTimeout) {
      Complete({ErrorDocument("Sandbox.Timedout",
                              fmt::format("RequestId: {} Error: Task timed out after {}.00 seconds",
                                          id, config_->timeout_s)),
                true},
               true);
    } else if (oom) {
      Log(fmt::format("{} {} Error: Runtime exited with error: signal: killed (out of memory)\n",
                      FormatLambdaTimestamp(NowEpochMs()), id));
      last_max_memory_mb_ = std::max<int64_t>(last_max_memory_mb_, config_->memory_mb);
      Complete({ErrorDocument("Runtime.OutOfMemory",
                              fmt::format("RequestId: {} Error: Runtime exited with error: signal: killed", id)),
                true},
               false);
    } else {
      Complete({ErrorDocument("Runtime.ExitError",
                              fmt::format("RequestId: {} Error: {}", id, ExitReason())),
                true},
               false);
    }
  }

  std::optional<Outcome> init_failure;
  if (waiting_for_function() || cause == DeathCause::kAssignFailed) {
    // No invocation has waited on its start yet, or the one that does can take another
    // environment: nothing to report to anyone but the daemon's log.
    if (cause == DeathCause::kAssignFailed || cause == DeathCause::kSpawnFailed) {
      spdlog::warn("prestarted environment {} failed: {}", log_stream_,
                   spawn_errno_ ? std::strerror(spawn_errno_) : ExitReason());
    }
  } else if (!initialized_) {
    Outcome failure;
    failure.function_error = true;
    if (!init_error_.empty()) {
      failure.body = init_error_;
    } else if (cause == DeathCause::kSpawnFailed) {
      failure.body = ErrorDocument(
          "Runtime.InvalidEntrypoint",
          spawn_errno_ == ENOENT
              ? std::string("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")
              : fmt::format("fork/exec bootstrap: {}", std::strerror(spawn_errno_)));
    } else if (cause == DeathCause::kInitTimeout) {
      failure.body = ErrorDocument(
          "Sandbox.Timedout", fmt::format("Error: Task timed out after {}.00 seconds", config_->timeout_s));
    } else {
      failure.body = ErrorDocument("Runtime.ExitError", "Error: " + ExitReason());
    }
    SteadyTime init_from = adopted_ ? startup_.adopted : startup_.cloned;
    Log(fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError Type: {}\n",
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - init_from).count(),
                    ErrorTypeOf(failure.body)));
    init_failure = std::move(failure);
    last_max_memory_mb_ = std::max(last_max_memory_mb_, peak_before_kill);
  }
  asio::post(context_.io, [self, failure = std::move(init_failure),
                           undelivered = std::move(undelivered)]() mutable {
    self->listener_->OnDead(self, std::move(failure), std::move(undelivered));
  });
}

void Environment::Kill() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  Die(DeathCause::kKilled);
}

void Environment::RecordFailedStart(const Invocation& invocation, Outcome& failure) const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  const std::string& id = invocation.request_id;
  // Runtime clients fill "requestId" in with what they know: nothing, before any event.
  auto doc = json::parse(failure.body, nullptr, false);
  if (doc.is_object()) {
    auto request_id = doc.find("requestId");
    if (request_id != doc.end() && request_id->is_string() && request_id->get_ref<const std::string&>().empty()) {
      *request_id = id;
      failure.body = DumpJson(doc);
    }
  }
  SteadyTime from = adopted_ ? startup_.adopted : startup_.begin;
  telemetry::Report report{id,
                           std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - from).count(),
                           config_->memory_mb,
                           last_max_memory_mb_,
                           std::nullopt,
                           false,
                           ErrorTypeOf(failure.body)};
  const auto& logging = config_->logging;
  auto format = telemetry::PlatformLogFormat::Of(logging.log_format, logging.system_log_level);
  int64_t now_ms = NowEpochMs();
  std::string lines = telemetry::PlatformStart(format, id, config_->version, invocation.trace_id, now_ms) +
                      telemetry::PlatformEnd(format, report, now_ms);
  if (!lines.empty()) context_.logs.Append(config_->name, lines, log_stream_);
  if (invocation.tail_log) {
    std::string tail = init_output_ + lines;
    failure.log_tail = tail.substr(tail.size() - std::min(tail.size(), kTailBytes));
  }
}

EnvironmentStatus Environment::Status() const {
  LAMBENT_DCHECK_THREAD(io_thread_);
  const char* state = waiting_for_function() ? (startup_.ready.time_since_epoch().count() ? "prestarted" : "prestarting")
                      : !initialized_        ? "initializing"
                      : active_              ? "busy"
                                             : "idle";
  EnvironmentStatus status{log_stream_, state, config_->runtime, config_->memory_mb, kind_ == Kind::kPrestarted};
  status.provisioned = kind_ == Kind::kProvisioned;
  status.version = config_->version;
  status.revision_id = config_->revision_id;
  status.init_pid = process_.init.pid();
  status.from_zygote = process_.from_zygote;
  status.invocations = invocations_;
  status.startup = startup_;
  return status;
}

std::chrono::seconds Environment::InitBudget() const {
  if (kind_ == Kind::kProvisioned) return std::chrono::seconds(std::max(130, config_->timeout_s));
  return std::chrono::seconds(10 + config_->timeout_s);
}

bool Environment::OomKilled() const { return cgroup_ && cgroup_->Usage().oom_killed; }


int64_t Environment::MaxMemoryUsedMb() const {
  if (cgroup_) return (cgroup_->PeakMemoryBytes() + (1 << 20) - 1) >> 20;
  if (runtime_pid_ <= 0) return 0;
  std::ifstream status(fmt::format("/proc/{}/status", runtime_pid_));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) {
      int64_t kb = std::atoll(line.c_str() + 6);
      return (kb + 1023) / 1024;
    }
  }
  return 0;
}

}  // namespace lambent::scheduler
