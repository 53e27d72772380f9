// How an Environment starts: the io thread decides what to launch (Start), the launcher
// thread does what may block (RunLaunch), and the io thread takes the result (OnLaunched).
// A prestarted environment's adoption goes the same way (Adopt, RunAssignment, OnAssignmentSent).
#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "init/protocol.h"
#include "scheduler/environment.h"
#include "scheduler/prestarter.h"

namespace lambent::scheduler {

namespace asio = boost::asio;

namespace {

SteadyTime Now() { return std::chrono::steady_clock::now(); }

// What of a runtime's environment its interpreter reads as it starts: a runtime is forked
// from the python zygote only when the zygote started with the same (ZygoteKeeper::Socket).
// For a function the zygote serves (PrestartShapeOf) they are the defaults
// Environment::RuntimeEnvironment sets, as PythonZygoteEnvironment has them.
std::vector<std::string> InterpreterStartVariables(const std::vector<std::string>& env) {
  constexpr std::string_view kKeep[] = {"TZ=", "LANG=", "PATH=", "LD_LIBRARY_PATH=", "PYTHONDONTWRITEBYTECODE="};
  std::vector<std::string> kept;
  for (const auto& variable : env) {
    if (std::any_of(std::begin(kKeep), std::end(kKeep), [&](auto key) { return variable.starts_with(key); })) {
      kept.push_back(variable);
    }
  }
  return kept;
}

}  // namespace

std::vector<std::string> PythonZygoteEnvironment() {
  return {"TZ=:UTC", "LANG=en_US.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin",
          "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
          "PYTHONDONTWRITEBYTECODE=1"};
}

// Made on the io thread, filled in on the launcher thread, read back on the io thread: each
// side touches it only while the other cannot (the post in between orders them).
struct Environment::Launch {
  std::shared_ptr<Environment> env;  // alive until the io thread has taken the result
  sandbox::LaunchSpec spec;          // all but spec.sandbox's descriptors and cgroup
  bool prestart = false;
  std::string host_task_root;
  std::string cgroup_name;
  sandbox::CgroupLimits limits;
  int tmp_size_mb = 0;  // 0: no /tmp image
  // Set: the runtime is forked from the python zygote, started with these variables if need be.
  std::optional<std::vector<std::string>> zygote_env;
  // Back from the launcher thread.
  SteadyTime started, prepared, cloned;
  std::unique_ptr<sandbox::CgroupDir> cgroup;  // set only when the launch succeeded
  Result<sandbox::LaunchedEnvironment> launched = tl::unexpected(Error::Internal("not launched"));
};

Result<void> Environment::Start() {
  LAMBENT_DCHECK_THREAD(io_thread_);
  startup_.begin = Now();
  ScopedSpan span(startup_.start_io);
  bool prestart = kind_ == Kind::kPrestarted;
  if (prestart && !context_.sandboxed) return tl::unexpected(Error::Internal("prestarting needs the sandbox"));
  log_stream_ = prestart ? "prestarted/" + RandomHex(16)
                         : fmt::format("{}/[{}]{}", FormatDatePath(NowEpochMs()), config_->version, RandomHex(16));
  if (!prestart && context_.hold_code) code_hold_ = context_.hold_code(config_->code_key);
  auto launch = std::make_shared<Launch>();
  launch->prestart = prestart;
  launch->host_task_root = context_.code_dir(config_->code_key).string();
  // Inside a sandbox the code is at /var/task and lambent's bootstraps at /var/runtime.
  std::filesystem::path task_root = context_.sandboxed ? "/var/task" : launch->host_task_root;
  auto command = context_.sandboxed
                     ? context_.catalog.Command(config_->runtime, task_root, "/var/runtime")
                     : context_.catalog.Command(config_->runtime, task_root);
  if (!command) return tl::unexpected(command.error());
  if (config_->runtime.starts_with("nodejs")) {
    auto node_options = config_->environment.find("NODE_OPTIONS");
    auto flags = runtimes::Catalog::NodeHeapFlags(
        config_->memory_mb, node_options == config_->environment.end() ? "" : node_options->second);
    command->insert(command->begin() + 1, flags.begin(), flags.end());
  }

  sandbox::LaunchSpec& spec = launch->spec;
  spec.init_path = context_.init_path;
  spec.env = prestart ? PrestartEnvironment() : RuntimeEnvironment(task_root);
  spec.pid_namespace = context_.capabilities.pid_namespace;
  if (context_.sandboxed) {
    bool own_network = config_->network != "host";
    // HostIds belongs to the io thread; the launch only carries the id.
    host_id_ = context_.host_ids->Acquire();
    spec.sandbox = sandbox::SandboxLaunch{*host_id_, *host_id_, own_network};
    spec.sandbox->seccomp_fd = context_.seccomp_fd;
    spec.sandbox->init_fd = context_.init_fd;
    spec.sandbox->spawner_fd = context_.spawner_fd;
    launch->cgroup_name = "env-" + RandomHex(8);
    launch->limits = Limits();
    spec.init_args = {"--sandbox", "--tmp-size-mb", std::to_string(config_->ephemeral_storage_mb),
                      "--network", own_network ? "none" : "host"};
    if (prestart) spec.init_args.push_back("--prestarted");
    // /tmp on disk, sized by EphemeralStorage (a prestarted environment's comes with its function).
    if (context_.tmp_pool && !prestart) launch->tmp_size_mb = config_->ephemeral_storage_mb;
    // With its own network namespace every environment has 127.0.0.1:9001 to itself.
    if (own_network) spec.init_args.insert(spec.init_args.end(), {"--listen", "127.0.0.1:9001"});
    if (context_.python_zygote) {
      auto shape = PrestartShapeOf(*config_);
      if (shape && shape->family == "python") launch->zygote_env = InterpreterStartVariables(spec.env);
    }
  }
  // A prestarted runtime changes into /var/task once its code is mounted there.
  spec.init_args.insert(spec.init_args.end(), {"--cwd", prestart ? "/" : task_root.string(), "--"});
  spec.init_args.insert(spec.init_args.end(), command->begin(), command->end());

  if (!context_.launcher) {
    RunLaunch(*launch, context_);
    if (!launch->launched) return tl::unexpected(launch->launched.error());
    OnLaunched(*launch);
    return Ok();
  }
  ++launcher_tasks_;
  launch->env = shared_from_this();
  context_.launcher->Post([launch = std::move(launch), &io = context_.io, &context = context_]() mutable {
    RunLaunch(*launch, context);
    // The io thread takes everything back, the environment included: nothing of it may be
    // destroyed here.
    asio::post(io, [launch = std::move(launch)] { launch->env->OnLaunched(*launch); });
  });
  return Ok();
}

void Environment::RunLaunch(Launch& launch, const EnvironmentContext& context) {
  if (context.launcher) LAMBENT_DCHECK_THREAD(context.launcher->affinity());
  launch.started = Now();
  // The descriptors are closed, and the /tmp image handed back, as this returns: on this
  // thread (the last close of a detached mount unmounts it).
  auto launched = [&]() -> Result<sandbox::LaunchedEnvironment> {
    if (!launch.spec.sandbox) {
      launch.prepared = Now();
      auto launched = sandbox::Launch(launch.spec);
      launch.cloned = Now();
      return launched;
    }
    sandbox::SandboxLaunch& sandbox = *launch.spec.sandbox;
    // A prestarted environment gets its code when it is assigned; the descriptor init
    // would mount as /var/task is a placeholder until then.
    auto code_tree = launch.prestart ? Result<Fd>(Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)))
                                     : sandbox::OpenReadOnlyTree(AT_FDCWD, launch.host_task_root);
    if (!code_tree) return tl::unexpected(code_tree.error());
    auto runtimes_tree = sandbox::OpenReadOnlyTree(context.runtimes_dir_fd, "");
    if (!runtimes_tree) return tl::unexpected(runtimes_tree.error());
    sandbox.code_dir_fd = code_tree->get();
    sandbox.runtimes_dir_fd = runtimes_tree->get();
    if (context.cgroups) {
      auto cgroup = context.cgroups->Create(launch.cgroup_name, launch.limits);
      if (!cgroup) return tl::unexpected(cgroup.error());
      launch.cgroup = std::move(*cgroup);
      sandbox.cgroup = launch.cgroup.get();
    }
    sandbox::TmpImage tmp_image;
    if (launch.tmp_size_mb > 0) {
      tmp_image = context.tmp_pool->TakeImage(launch.tmp_size_mb, sandbox.host_uid, sandbox.host_gid);
      if (tmp_image) {
        sandbox.tmp_mount_fd = tmp_image.fd();
        auto& args = launch.spec.init_args;
        args.insert(std::find(args.begin(), args.end(), "--cwd"), "--tmp-mount");
      }
    }
    if (launch.zygote_env) sandbox.zygote_fd = context.python_zygote->Socket(*launch.zygote_env);
    launch.prepared = Now();
    auto launched = sandbox::Launch(launch.spec);
    launch.cloned = Now();
    if (sandbox.zygote_fd >= 0 && !(launched && launched->from_zygote)) context.python_zygote->Failed();
    sandbox.code_dir_fd = sandbox.runtimes_dir_fd = sandbox.tmp_mount_fd = -1;  // closed below
    sandbox.cgroup = nullptr;
    return launched;
  }();
  // Nothing runs in the group: it goes here too, not on the io thread.
  if (!launched) launch.cgroup.reset();
  launch.launched = std::move(launched);
}

void Environment::OnLaunched(Launch& launch) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  std::chrono::nanoseconds inline_launch{0};  // without a launcher Start()'s span counts it all
  ScopedSpan span(context_.launcher ? startup_.start_io : inline_launch);
  if (context_.launcher) --launcher_tasks_;
  startup_.launch_started = launch.started;
  startup_.prepared = launch.prepared;
  startup_.cloned = launch.cloned;
  startup_.launched = Now();
  if (!launch.launched) {
    // Nothing was started and the group is gone: the id is free at once.
    const Error& error = launch.launched.error();
    if (host_id_ && context_.host_ids) context_.host_ids->Release(*std::exchange(host_id_, std::nullopt));
    if (kind_ == Kind::kPrestarted) {
      spdlog::warn("cannot prestart a {} environment: {}", config_->runtime, error.message());
    } else {
      spdlog::error("function {}: cannot start an environment: {}", config_->name, error.message());
    }
    dead_ = true;
    available_ = false;
    deferred_death_.reset();  // killed meanwhile or not, this is how it ends
    // Out of descriptors despite the fd budget (other files, another process's share):
    // throttled, as the budget would have done, so the client retries.
    int err = error.sys_errno();
    bool throttled = err == EMFILE || err == ENFILE;
    Outcome failure;
    failure.error = Error(throttled ? ErrorCode::kTooManyRequests : ErrorCode::kInternal,
                          throttled ? "Rate Exceeded." : error.message());
    asio::post(context_.io, [self = shared_from_this(), failure = std::move(failure)]() mutable {
      self->listener_->OnDead(self, std::move(failure), nullptr);
    });
    return;
  }
  process_ = std::move(*launch.launched);
  cgroup_ = std::move(launch.cgroup);
  freezer_.Attach(cgroup_.get());
  control_.assign(process_.control.release());
  output_.assign(process_.output.release());
  if (deferred_death_) return DieIfDeferred();  // killed while it launched: end what was started
  timer_.expires_after(InitBudget());
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->initialized_) self->Die(DeathCause::kInitTimeout);
  });
  WatchControl();
  ReadOutput();
}

// The blocking half of an adoption, made and read back like a Launch.
struct Environment::Assignment {
  std::shared_ptr<Environment> env;  // alive, and its cgroup with it, until the io thread is back
  std::string code_dir;
  Fd control;                    // a duplicate: the environment may close its own meanwhile
  sandbox::CgroupDir* cgroup = nullptr;  // the environment's; only SetLimits is called here
  sandbox::CgroupLimits limits;
  int tmp_size_mb = 0;  // 0: no /tmp image
  uid_t host_id = 0;
  Result<void> sent = Ok();
};

Result<void> Environment::Adopt(registry::ConfigPtr config, EnvironmentListener& listener) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  ScopedSpan span(startup_.adopt_io);
  if (!waiting_for_function() || !available_ || dead_ || !parked_assignment_ || launcher_tasks_ > 0) {
    return tl::unexpected(Error::Internal("the prestarted environment is not ready"));
  }
  auto assignment = std::make_shared<Assignment>();
  assignment->control = Fd(::fcntl(control_.native_handle(), F_DUPFD_CLOEXEC, 0));
  if (!assignment->control) return tl::unexpected(Error::System("fcntl(F_DUPFD_CLOEXEC)", "control", errno));
  if (context_.hold_code) code_hold_ = context_.hold_code(config->code_key);
  assignment->code_dir = context_.code_dir(config->code_key).string();
  config_ = std::move(config);
  adopted_ = true;
  assignment->cgroup = cgroup_.get();
  assignment->limits = Limits();
  if (context_.tmp_pool && host_id_) {
    assignment->tmp_size_mb = config_->ephemeral_storage_mb;
    assignment->host_id = *host_id_;
  }
  // Thawed before init is sent its function.
  freezer_.Wake();
  startup_.adopted = Now();
  available_ = false;
  listener_ = &listener;
  log_stream_ = fmt::format("{}/[{}]{}", FormatDatePath(NowEpochMs()), config_->version, RandomHex(16));
  timer_.expires_after(InitBudget());
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->initialized_) self->Die(DeathCause::kInitTimeout);
  });
  if (!context_.launcher) {
    RunAssignment(*assignment, context_);
    return assignment->sent;
  }
  ++launcher_tasks_;
  assignment->env = shared_from_this();
  context_.launcher->Post([assignment = std::move(assignment), &io = context_.io, &context = context_]() mutable {
    RunAssignment(*assignment, context);
    asio::post(io, [assignment = std::move(assignment)] { assignment->env->OnAssignmentSent(*assignment); });
  });
  return Ok();
}

void Environment::RunAssignment(Assignment& assignment, const EnvironmentContext& context) {
  if (context.launcher) LAMBENT_DCHECK_THREAD(context.launcher->affinity());
  assignment.sent = [&]() -> Result<void> {
    auto code_tree = sandbox::OpenReadOnlyTree(AT_FDCWD, assignment.code_dir);
    if (!code_tree) return tl::unexpected(code_tree.error());
    if (assignment.cgroup) {
      if (auto ok = assignment.cgroup->SetLimits(assignment.limits); !ok) return ok;
    }
    sandbox::TmpImage tmp;
    if (assignment.tmp_size_mb > 0) {
      tmp = context.tmp_pool->TakeImage(assignment.tmp_size_mb, assignment.host_id, assignment.host_id);
    }
    // init answers kAssigned on the control socket, which the io thread watches.
    return init::Send(assignment.control.get(), {init::MessageType::kAssign, assignment.tmp_size_mb, 0},
                      code_tree->get(), tmp ? tmp.fd() : -1);
  }();
  assignment.control.reset();
}

void Environment::OnAssignmentSent(Assignment& assignment) {
  LAMBENT_DCHECK_THREAD(io_thread_);
  ScopedSpan span(startup_.adopt_io);
  --launcher_tasks_;
  if (!assignment.sent && !dead_) {
    spdlog::warn("function {}: a prestarted environment could not be assigned: {}", config_->name,
                 assignment.sent.error().message());
    spawn_errno_ = assignment.sent.error().sys_errno();
    Die(DeathCause::kAssignFailed);
  }
  // It may have died meanwhile (init exited, or it was killed): end it once nothing else uses it.
  DieIfDeferred();
}

}  // namespace lambent::scheduler
