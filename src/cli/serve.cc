#include "cli/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "api/gateway.h"
#include "async/async_invoker.h"
#include "async/event_log.h"
#include "async/sqlite_queue_engine.h"
#include "metrics/exporter.h"
#include "metering/ledger.h"
#include "metering/provisioned_sampler.h"
#include "sqs/sqs_api.h"
#include "eventbridge/eventbridge_api.h"
#include "eventbridge/rule_store.h"
#include "urls/url_directory.h"
#include "permissions/policy_store.h"
#include "esm/mapping_manager.h"
#include "api/provisioning.h"
#include "cli/fd_budget.h"
#include "cli/listen_address.h"
#include "cli/memory_size.h"
#include "cli/protections.h"
#include "cli/shutdown.h"
#include "sandbox/tmp_pool.h"
#include "code/package_store.h"
#include "http/server.h"
#include "registry/registry.h"
#include "runtimes/catalog.h"
#include "sandbox/cgroup_watchdog.h"
#include "sandbox/launch_thread.h"
#include "sandbox/launcher.h"
#include "sandbox/zygote.h"
#include "scheduler/scheduler.h"
#include "telemetry/invocation_record.h"
#include "telemetry/log_store.h"
#include "telemetry/log_writer.h"

namespace lambent::cli {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// The code packages functions refer to: every version's, for a published version keeps the
// code it was published with whatever $LATEST has since.
std::set<std::string> CodeInUse(const registry::Registry& registry) {
  std::set<std::string> keys;
  for (const auto& latest : registry.List()) {
    auto versions = registry.Versions(latest->name);
    if (!versions) continue;
    for (const auto& config : *versions) keys.insert(config->code_key);
  }
  return keys;
}

fs::path BinaryDir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// Runs the event loop until it is stopped. Request handlers catch what they throw; this is
// the last line for a completion handler elsewhere (a timer, a child's pipe) that did not:
// it is logged and the loop goes on, for one failed callback must not end every invocation.
void RunEventLoop(asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::critical("uncaught exception in the event loop: {}", e.what());
    } catch (...) {
      spdlog::critical("uncaught exception in the event loop");
    }
  }
}

// Removes the daemon's scratch directories when it returns, last of all, so that a stopped
// daemon leaves only its state (database, code, logs) in the data directory. Whatever is in
// them is unlinked already (spooled bodies, /tmp images); a killed daemon's are removed at
// the next start.
class ScratchDirs {
 public:
  ScratchDirs() = default;
  ScratchDirs(const ScratchDirs&) = delete;
  ScratchDirs& operator=(const ScratchDirs&) = delete;
  ~ScratchDirs() {
    for (const auto& dir : dirs_) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) spdlog::warn("cannot remove {}: {}", dir.string(), ec.message());
    }
  }
  void Add(fs::path dir) { dirs_.push_back(std::move(dir)); }

 private:
  std::vector<fs::path> dirs_;
};

// Gives the scheduler back what the registry holds for each function: its reserved
// concurrency, and the provisioned environments it keeps ready (started from here on).
void RestoreConcurrency(const registry::Registry& registry, scheduler::Scheduler& scheduler) {
  for (const auto& [name, settings] : registry.AllSettings()) {
    if (settings.reserved_concurrency) scheduler.SetReservedConcurrency(name, settings.reserved_concurrency);
    if (!settings.provisioned.empty()) scheduler.SetProvisioned(name, api::ProvisionedTargets(registry, name));
  }
}

}  // namespace

int Serve(const ServeOptions& options) {
  if (options.unreserved_floor > options.concurrency_limit) {
    std::cerr << "lambent: --unreserved-concurrency-min (" << options.unreserved_floor
              << ") is above --concurrency-limit (" << options.concurrency_limit << ")\n";
    return 2;
  }
  // Requests are not authenticated yet: whoever reaches the API can deploy code and run it
  // here, so the network gets it only when the operator says so.
  if (!IsLoopbackListen(options.listen)) {
    if (!options.insecure_no_auth) {
      std::cerr << "lambent: refusing to listen on " << options.listen
                << ": lambent does not check request signatures yet, so anyone who can reach this "
                   "address could deploy and run code on this host. Listen on 127.0.0.1 (the "
                   "default), or add --insecure-no-auth if the network is trusted.\n";
      return 2;
    }
    spdlog::warn("listening on {} without authentication (--insecure-no-auth): anyone who "
                 "reaches it can deploy and run code on this host",
                 options.listen);
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    spdlog::error("--listen wants HOST:PORT, got '{}'", options.listen);
    return 2;
  }
  std::string host = options.listen.substr(0, colon);
  int port = std::atoi(options.listen.c_str() + colon + 1);

  fs::path data_dir = fs::absolute(options.data_dir);
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create the data directory {}: {}", data_dir.string(), ec.message());
    return 1;
  }
  ScratchDirs scratch;  // before everything that uses them: removed after all of it is gone

  auto store = registry::SqliteStore::Open(data_dir / "lambent.db");
  if (!store) {
    spdlog::error("{}", store.error().message());
    return 1;
  }
  registry::Registry registry(std::move(*store));
  if (auto ok = registry.Load(); !ok) {
    spdlog::error("loading functions: {}", ok.error().message());
    return 1;
  }
  auto packages = code::PackageStore::Open(data_dir / "code", options.max_unzipped_bytes);
  if (!packages) {
    spdlog::error("{}", packages.error().message());
    return 1;
  }
  // No environment runs yet, so packages and logs no function refers to can go safely now
  // (left by a daemon that was killed before it could remove them).
  std::set<std::string> names;
  for (const auto& config : registry.List()) names.insert(config->name);
  (*packages)->RemoveAllExcept(CodeInUse(registry));

  telemetry::LogStore logs(data_dir / "logs",
                           {.max_bytes_per_function = options.max_log_mb << 20,
                            .exists = [&registry](const std::string& function) {
                              return registry.Find(function) != nullptr;
                            },
                            .timestamp_lines = true,
                            .max_total_bytes = options.logs_max_mb << 20,
                            .enforce_every_ms = options.log_retention_scale < 1.0 ? 200 : 10'000,
                            .day_ms = std::max<int64_t>(1, int64_t(86'400'000 * options.log_retention_scale))});
  logs.RemoveAllExcept(names);
  fs::path bin_dir = BinaryDir();
  fs::path runtimes_dir =
      options.runtimes_dir.empty() ? (bin_dir.parent_path() / "runtimes") : fs::path(options.runtimes_dir);
  auto catalog = runtimes::Catalog::Discover(fs::absolute(runtimes_dir));
  for (const auto& family : catalog.families()) {
    if (!family.available) spdlog::warn("runtime {} unavailable: {}", family.pattern, family.version);
  }

  Protections protections = DetectProtections();
  bool sandboxed = protections.sandboxed() && !options.no_sandbox;
  for (const auto& line : protections.Report()) {
    if (line.starts_with("OFF")) {
      spdlog::warn("protection {}", line);
    } else {
      spdlog::info("protection {}", line);
    }
  }
  if (!sandboxed) {
    spdlog::warn("environments are NOT sandboxed{}", options.no_sandbox ? " (--no-sandbox)" : "");
  }
  fs::path init_path = bin_dir / "lambent-init";
  Fd runtimes_fd(::open(fs::absolute(runtimes_dir).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  Fd init_fd(::open(init_path.c_str(), O_PATH | O_CLOEXEC));
  if (sandboxed && (!runtimes_fd || !init_fd)) {
    spdlog::error("cannot open {} or {}", runtimes_dir.string(), init_path.string());
    return 1;
  }
  sandbox::HostIds host_ids(protections.capabilities.root);
  // Cold starts clone from the spawner's small address space rather than the daemon's.
  std::optional<sandbox::Spawner> spawner;
  if (sandboxed) {
    if (auto started = sandbox::StartSpawner(init_fd.get())) {
      spawner = std::move(*started);
    } else {
      spdlog::warn("no spawner ({}): environments are cloned from the daemon", started.error().message());
    }
  }
  // Python runtimes forked from an interpreter that has already started (sandbox/zygote.h).
  std::optional<sandbox::ZygoteKeeper> python_zygote;
  if (sandboxed && !options.no_zygote && catalog.families()[0].available) {
    python_zygote.emplace(catalog.families()[0].interpreter, runtimes_fd.get(),
                          (bin_dir / "liblambent-zygote.so").string());
  }
  // Removes this daemon's cgroups once it is gone, however it ends (SIGKILL included).
  std::optional<sandbox::CgroupWatchdog> cgroup_watchdog;
  if (sandboxed && protections.cgroups) {
    if (auto started = sandbox::StartCgroupWatchdog(init_fd.get(), protections.cgroups->Parents())) {
      cgroup_watchdog = std::move(*started);
    } else {
      spdlog::warn("no cgroup watchdog ({}): a killed daemon's cgroups stay until the next start",
                   started.error().message());
    }
  }

  uint64_t fd_limit = RaiseFdLimit();
  FdPlan fd_plan = PlanFds(fd_limit, options.http_max_connections);
  spdlog::info("open-file limit {}: up to {} connections, {} environments", fd_limit,
               fd_plan.max_connections,
               std::min<uint64_t>(uint64_t(options.max_environments),
                                  fd_plan.environment_fds / scheduler::kFdsPerEnvironment));
  // Large request bodies wait here while they arrive, in unlinked files.
  fs::path spool_dir = data_dir / "spool";
  fs::remove_all(spool_dir, ec);
  fs::create_directories(spool_dir, ec);
  scratch.Add(spool_dir);
  if (ec) {
    spdlog::error("cannot create {}: {}", spool_dir.string(), ec.message());
    return 1;
  }

  asio::io_context io(1);
  asio::thread_pool workers(2);
  // Async invocations wait here; closed below once the io thread has stopped (its completions
  // are posted to io).
  async::SqliteQueueEngineOptions queue_options;
  queue_options.durability = options.durability == "power-loss" ? async::Durability::kPowerLoss
                                                                 : async::Durability::kProcess;
  auto queues = async::SqliteQueueEngine::Open(data_dir / "queues", queue_options);
  if (!queues) {
    spdlog::error("{}", queues.error().message());
    return 1;
  }
  // A deleted function's package goes at once, or on a worker when the last environment
  // running from it lets go of it (on the io thread, which must not wait for a deletion).
  (*packages)->EnableCollection(
      [&registry] { return CodeInUse(registry); },
      [&workers](std::function<void()> task) { asio::post(workers, std::move(task)); });
  scheduler::Reaper reaper(io);
  // Cold starts' blocking half (mounts, cgroup, clone): off the io thread, on one thread that
  // lives as long as the daemon (environments' parent-death signal follows it).
  sandbox::LaunchThread launcher;
  fs::path code_root = data_dir / "code";
  scheduler::EnvironmentContext env_context{
      io,
      logs,
      catalog,
      init_path.string(),
      protections.capabilities,
      options.region,
      options.account_id,
      [&packages, code_root](const std::string& key) {
        auto info = (*packages)->Get(key);
        return info ? info->dir : code_root / key;
      },
      sandboxed,
      runtimes_fd.get(),
      init_fd.get(),
      protections.seccomp.get(),
      sandboxed ? protections.cgroups.get() : nullptr,
      &host_ids,
      options.cpu_floor,
      &reaper,
      spawner ? spawner->socket.get() : -1,
  };
  env_context.launcher = &launcher;
  if (python_zygote) {
    env_context.python_zygote = &*python_zygote;
    // Started now rather than by the first python cold start, which would wait for it.
    launcher.Post([&python_zygote] { python_zygote->Socket(scheduler::PythonZygoteEnvironment()); });
  }
  // Who hears of every invocation's end and every throttle: metering and metrics register
  // here before the daemon serves. None: the environments build no record at all.
  telemetry::InvocationObservers observers;
  // Prometheus metrics (GET /metrics): counted as invocations end, gauges read per scrape.
  metrics::Registry metrics_registry;
  observers.Add(&metrics_registry);
  // The usage ledger: every invocation's billed duration, written in batches by its own
  // thread. Its price table is read now so that a broken one stops the start, not a query.
  metering::LedgerOptions ledger_options;
  ledger_options.prices_file = data_dir / "prices.json";
  ledger_options.retention_days = options.usage_retention_days;
  if (auto prices = metering::LoadPrices(ledger_options.prices_file); !prices) {
    spdlog::error("{}", prices.error().message());
    return 1;
  }
  auto ledger = metering::Ledger::Open(data_dir / "usage" / "usage.db", ledger_options);
  if (!ledger) {
    spdlog::error("usage ledger: {}", ledger.error().message());
    return 1;
  }
  observers.Add(ledger->get());
  if (!observers.empty()) env_context.observer = &observers;
  env_context.hold_code = [&packages](const std::string& key) -> std::shared_ptr<const void> {
    auto info = (*packages)->Get(key);
    return info ? info->in_use : nullptr;
  };
  // Disk-backed /tmp: images made ahead of demand on the pool's own thread, in unlinked files.
  std::optional<sandbox::TmpPool> tmp_pool;
  if (sandboxed && !options.tmpfs_tmp && protections.tmp_on_disk_error.empty()) {
    fs::path images = data_dir / "tmp-images";
    fs::remove_all(images, ec);  // only a template a crash interrupted can be there
    fs::create_directories(images, ec);
    scratch.Add(images);
    // Ready from the start: Lambda's default size and every size a deployed function has.
    sandbox::TmpPoolOptions pool_options{.dir = images};
    for (const auto& config : registry.List()) {
      if (pool_options.initial_sizes.size() >= pool_options.max_sizes) break;
      if (std::find(pool_options.initial_sizes.begin(), pool_options.initial_sizes.end(),
                    config->ephemeral_storage_mb) == pool_options.initial_sizes.end()) {
        pool_options.initial_sizes.push_back(config->ephemeral_storage_mb);
      }
    }
    tmp_pool.emplace(pool_options);
    env_context.tmp_pool = &*tmp_pool;
    // The first cold starts after start-up find one ready, of every size a deployed function
    // has (making one takes ~50 ms; a miss would get a tmpfs, counted in memory).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::vector<int> sizes = pool_options.initial_sizes;
    if (std::find(sizes.begin(), sizes.end(), 512) == sizes.end()) sizes.push_back(512);
    for (int size : sizes) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (!tmp_pool->WaitReady(size, 1, std::max(left, std::chrono::milliseconds(1)))) {
        spdlog::warn("no {} MB /tmp image ready yet{}{}", size, tmp_pool->stats().error.empty() ? "" : ": ",
                     tmp_pool->stats().error);
      }
    }
  } else if (sandboxed) {
    spdlog::warn("/tmp is a tmpfs, counted in each function's memory ({})",
                 options.tmpfs_tmp ? "--tmpfs-tmp" : protections.tmp_on_disk_error);
  }
  env_context.freeze_after = std::chrono::milliseconds(options.freeze_after_ms);
  scheduler::SchedulerOptions scheduler_options;
  scheduler_options.max_environments = options.max_environments;
  scheduler_options.idle_timeout = std::chrono::seconds(options.idle_timeout_s);
  scheduler_options.environment_fds = fd_plan.environment_fds;
  scheduler_options.concurrency_limit = options.concurrency_limit;
  scheduler_options.unreserved_floor = options.unreserved_floor;
  scheduler_options.memory_budget_mb = options.memory_budget_mb;
  scheduler_options.prestart.per_shape = options.prestart;
  scheduler_options.prestart.shape_ttl = std::chrono::seconds(options.idle_timeout_s);
  scheduler_options.prestart.max_per_shape = std::max(options.prestart_max, options.prestart);
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  scheduler_options.scaling.cores = cores;
  // A ratio of 0 makes every function "slow": it always scales out.
  scheduler_options.scaling.wait_ratio = options.scale_wait_ratio > 0 ? options.scale_wait_ratio : 1e18;
  scheduler_options.max_parallel_starts = options.max_parallel_starts > 0 ? options.max_parallel_starts : 2 * cores;
  scheduler::Scheduler scheduler(env_context, scheduler_options);
  if (options.memory_budget_mb > 0) {
    // Physical memory, or the daemon's cgroup limit when lower (a container).
    int64_t host_mb = HostMemoryMb();
    spdlog::info("memory budget {} MB for environments (of {} MB); concurrency limit {}, {} kept unreserved",
                 options.memory_budget_mb, host_mb, options.concurrency_limit, options.unreserved_floor);
    if (host_mb > 0 && options.memory_budget_mb > host_mb) {
      spdlog::warn("--memory-budget {} MB is more than the {} MB this daemon can have: a burst can push the "
                   "host into swap or the OOM killer",
                   options.memory_budget_mb, host_mb);
    }
  } else {
    spdlog::warn("no memory budget (--memory-budget 0): a burst can push the host into swap or the OOM "
                 "killer; concurrency limit {}, {} kept unreserved",
                 options.concurrency_limit, options.unreserved_floor);
  }
  api::ApiContext api_context{io,      workers, registry, **packages,      scheduler,
                              logs,    catalog, options.region, options.account_id};
  // The dashboard's files, installed next to the binaries as the runtimes are.
  if (fs::path ui_dir = bin_dir.parent_path() / "ui"; fs::is_regular_file(ui_dir / "index.html")) {
    api_context.ui_dir = fs::absolute(ui_dir);
  }
  async::AsyncInvokerOptions async_options;
  async_options.retry.function_error_delay_scale = options.async_retry_delay_scale;
  // An async backlog may use the machine without crowding out synchronous calls: twice the
  // cores at once per function (its reserved concurrency instead, when it has one).
  async_options.default_in_flight = 2 * cores;
  async_options.region = options.region;
  async_options.account_id = options.account_id;
  // What became of each async event, for `lambent events`: written by a thread of its own.
  auto event_log = async::EventLog::Open(data_dir / "events.db");
  if (!event_log) {
    spdlog::error("{}", event_log.error().message());
    return 1;
  }
  async_options.event_log = event_log->get();
  async_options.observer = &metrics_registry;
  api_context.event_log = event_log->get();
  async::AsyncInvoker async_invoker(io, **queues, registry, scheduler, async_options);
  api_context.events = &async_invoker;
  // Queues users make and use through the SQS API live in the same engine.
  sqs::SqsApi sqs_api(io, **queues, {options.region, options.account_id});
  api_context.sqs = &sqs_api;
  // EventBridge: rules and buses in their own SQLite file; matching events and schedule
  // firings go to functions through the async path and to queues through the engine.
  auto rule_store = eventbridge::RuleStore::Open(data_dir / "eventbridge");
  if (!rule_store) {
    spdlog::error("{}", rule_store.error().message());
    return 1;
  }
  eventbridge::EventBusService event_buses(**rule_store, {options.region, options.account_id, {}});
  if (auto loaded = event_buses.Load(); !loaded) {
    spdlog::error("{}", loaded.error().message());
    return 1;
  }
  eventbridge::EventRouter event_router(io, event_buses, async_invoker, **queues,
                                        {options.region, options.account_id, options.schedule_rate_scale, {}});
  event_buses.set_on_change([&io, &event_router] { asio::post(io, [&event_router] { event_router.Reschedule(); }); });
  eventbridge::EventBridgeApi eventbridge_api(io, workers, event_buses, event_router);
  api_context.eventbridge = &eventbridge_api;
  api_context.event_router = &event_router;
  auto url_directory = urls::UrlDirectory::Open(data_dir / "urls");
  if (!url_directory) {
    spdlog::error("{}", url_directory.error().message());
    return 1;
  }
  api_context.urls = url_directory->get();
  auto policies = permissions::PolicyStore::Open(data_dir / "policies");
  if (!policies) {
    spdlog::error("{}", policies.error().message());
    return 1;
  }
  api_context.policies = policies->get();
  api_context.usage = ledger->get();
  metering::ProvisionedSampler provisioned_sampler(io, scheduler, registry, **ledger);
  metrics::Exporter metrics_exporter(metrics_registry, scheduler, queues->get(), workers);
  api_context.metrics = &metrics_exporter;
  // Event source mappings: a poller per enabled mapping runs its queue's batches through the
  // scheduler, at most twice the cores of them at once per mapping unless its
  // ScalingConfig says otherwise.
  esm::PollerOptions mapping_options{options.region, options.account_id};
  mapping_options.default_max_concurrency = 2 * cores;
  auto mappings = esm::MappingManager::Open(
      io, **queues, registry,
      [&scheduler](auto invocation) { scheduler.Invoke(std::move(invocation)); },
      [&workers](std::function<void()> task) { asio::post(workers, std::move(task)); },
      data_dir / "event_source_mappings.db", mapping_options);
  if (!mappings) {
    spdlog::error("event source mappings: {}", mappings.error().message());
    return 1;
  }
  api_context.mappings = mappings->get();
  api::Gateway gateway(api_context);
  DrainingHandler front(gateway);
  http::ServerOptions server_options;
  server_options.max_connections = fd_plan.max_connections;
  server_options.session.header_timeout = std::chrono::milliseconds(options.http_header_timeout_ms);
  server_options.session.body_timeout = std::chrono::milliseconds(options.http_body_timeout_ms);
  server_options.session.idle_timeout = std::chrono::milliseconds(options.http_idle_timeout_ms);
  server_options.session.write_timeout = std::chrono::milliseconds(options.http_write_timeout_ms);
  server_options.session.spool = std::make_shared<http::BodySpool>(spool_dir, http::BodySpool::Limits{});
  server_options.session.blocking = workers.get_executor();
  http::Server server(io, front, server_options);
  if (auto ok = server.Listen(host, uint16_t(port)); !ok) {
    spdlog::error("{}", ok.error().message());
    return 1;
  }

  // Function logs reach their files a few times a second, from a thread of their own: the io
  // thread only buffers them.
  telemetry::LogWriter log_writer(logs, std::chrono::milliseconds(200));
  GracefulShutdown shutdown(io, std::chrono::seconds(options.shutdown_grace_s),
                            {
                                .stop_accepting =
                                    [&] {
                                      front.Refuse();
                                      server.Stop();
                                      async_invoker.Stop();
                                      (*mappings)->Stop();
                                      sqs_api.Stop();
                                      event_router.Stop();
                                      provisioned_sampler.Stop();
                                    },
                                .drain = [&](std::function<void()> drained) { scheduler.Drain(std::move(drained)); },
                                .in_flight = [&] { return scheduler.Host().running; },
                                .kill = [&] { scheduler.Shutdown(); },
                                .open_connections = [&] { return server.connections(); },
                                .stop = [&] { io.stop(); },
                            });

  // Once the daemon is sure to serve: provisioned environments start from here.
  RestoreConcurrency(registry, scheduler);
  provisioned_sampler.Start();
  // Events accepted by an earlier run (killed or stopped) run again from here.
  async_invoker.Start();
  // Schedules fire from here, from their next time after now: none missed while down.
  event_router.Reschedule();
  (*mappings)->Start();
  spdlog::info("{} functions, data in {}", registry.List().size(), data_dir.string());
  // Scripts wait for this line: the daemon answers from here on.
  std::cout << "lambent listening on http://" << host << ":" << server.port() << std::endl;
  RunEventLoop(io);
  // The launch in hand finishes and posts its environment back (killed by the shutdown, it
  // is ended in the poll below); launches not started are dropped.
  launcher.Stop();
  // Let the environments killed on the way out report to their pools while io still exists.
  io.restart();
  io.poll();
  // What those outcomes acknowledged or retried is committed; nothing posts any more but
  // the engine's last completions, run by the poll after it.
  async_invoker.Stop();
  (*mappings)->Stop();
  // The fates recorded last reach the event log, and the acknowledgements that wait for them
  // run before the engine closes.
  (*event_log)->Flush();
  io.poll();
  (*queues)->Close();
  io.poll();
  workers.join();
  // Every invocation answered, those ended by the shutdown included, is in the file from here.
  (*ledger)->Stop();
  log_writer.Stop();
  return 0;
}

}  // namespace lambent::cli
