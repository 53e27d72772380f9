// The `lambent` command: the daemon (`serve`) and the client subcommands.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/mapping_commands.h"
#include "cli/rule_commands.h"
#include "cli/memory_size.h"
#include "cli/serve.h"

namespace {

// The first word that is not an option (nor --endpoint's value): the subcommand asked for.
std::string SubcommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--endpoint") {
      ++i;
      continue;
    }
    if (arg.starts_with("-")) continue;
    return std::string(arg);
  }
  return {};
}

std::string SubcommandNames(CLI::App& app) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lambent: a self-hosted serverless platform that speaks AWS Lambda's API"};
  app.set_version_flag("--version", std::string("lambent ") + lambent::cli::kVersion);
  app.fallthrough();  // --endpoint may follow the subcommand too
  std::string endpoint = "http://127.0.0.1:9000";
  if (const char* env = std::getenv("LAMBENT_ENDPOINT"); env && *env) endpoint = env;
  app.add_option("--endpoint", endpoint, "the daemon's URL (or LAMBENT_ENDPOINT)");

  lambent::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "run the daemon");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to serve the API on")->capture_default_str();
  serve_cmd->add_option("--data-dir", serve.data_dir, "where state, code and logs live")->capture_default_str();
  serve_cmd->add_option("--region", serve.region, "the region in ARNs")->capture_default_str();
  serve_cmd->add_option("--runtimes-dir", serve.runtimes_dir, "built-in runtime bootstraps");
  serve_cmd->add_option("--max-environments", serve.max_environments,
                        "live environments, all kinds together, before invocations are throttled")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve_cmd->add_option("--concurrency-limit", serve.concurrency_limit,
                        "invocations running at once, all functions together (Lambda's account "
                        "concurrency, reported by GetAccountSettings); more are throttled with 429")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  serve_cmd->add_option("--unreserved-concurrency-min", serve.unreserved_floor,
                        "concurrency that reserved concurrency must leave to the functions without a "
                        "reservation (Lambda keeps 100; a small host can lower it); at most "
                        "--concurrency-limit")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  serve.memory_budget_mb = lambent::cli::DefaultMemoryBudgetMb();
  serve_cmd->add_option("--memory-budget", serve.memory_budget_mb,
                        "MemorySize of all live environments together (prestarted and provisioned "
                        "included): MiB, or a size such as 800M or 4G, or a share such as 50%; idle "
                        "environments are stopped to make room, and calls that still do not fit are "
                        "throttled (0: no budget; default 80% of physical memory, or of the daemon's "
                        "cgroup memory limit when lower)")
      ->capture_default_str()
      ->type_name("SIZE")
      ->transform(CLI::Validator(
          [](std::string& text) -> std::string {
            auto mb = lambent::cli::ParseMemorySizeMb(text, lambent::cli::HostMemoryMb());
            if (!mb) return mb.error().message();
            text = std::to_string(*mb);
            return {};
          },
          ""));
  serve_cmd->add_option("--shutdown-grace", serve.shutdown_grace_s,
                        "seconds SIGTERM or SIGINT waits for invocations in flight before stopping "
                        "them (a second signal stops them at once)")
      ->capture_default_str()->check(CLI::Range(0, 86400));
  serve_cmd->final_callback([&serve] {
    if (serve.unreserved_floor > serve.concurrency_limit) {
      throw CLI::ValidationError("--unreserved-concurrency-min",
                                 std::to_string(serve.unreserved_floor) + " is above --concurrency-limit " +
                                     std::to_string(serve.concurrency_limit) +
                                     ": reservations could never leave that much");
    }
  });
  serve_cmd->add_option("--durability", serve.durability,
                        "what an accepted async event survives: process (the daemon killed at any "
                        "instant) or power-loss (also a power cut: a disk sync per commit, slower)")
      ->capture_default_str()->check(CLI::IsMember({"process", "power-loss"}));
  serve_cmd->add_option("--async-retry-delay-scale", serve.async_retry_delay_scale,
                        "scales the 1 and 2 minute waits before retrying an async event whose "
                        "function failed (for tests)")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  serve_cmd->add_option("--usage-retention-days", serve.usage_retention_days,
                        "days the usage ledger keeps its records (0: forever)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  serve_cmd->add_option("--schedule-rate-scale", serve.schedule_rate_scale,
                        "scales the periods of rate() schedules: 0.01 makes rate(1 minute) fire every "
                        "0.6 s (for tests)")
      ->capture_default_str()->check(CLI::Range(0.0001, 100.0));
  serve_cmd->add_option("--idle-timeout", serve.idle_timeout_s,
                        "seconds an unused warm environment is kept")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve_cmd->add_option("--prestart", serve.prestart,
                        "python and node environments kept started ahead of demand, per kind of "
                        "function recently cold-started (0: start every environment on demand)")
      ->capture_default_str()->check(CLI::Range(0, 16));
  serve_cmd->add_option("--prestart-max", serve.prestart_max,
                        "python and node environments kept ready per kind after a burst of cold "
                        "starts of that kind (at least --prestart)")
      ->capture_default_str()->check(CLI::Range(0, 64));
  serve_cmd->add_option("--max-parallel-starts", serve.max_parallel_starts,
                        "environments starting at once, all functions together (0: twice the cores)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve_cmd->add_option("--scale-wait-ratio", serve.scale_wait_ratio,
                        "a function whose warm invocations are this many times shorter than its cold "
                        "start waits briefly for a busy environment instead of starting another "
                        "(0: never wait, every invocation that finds none free starts one)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve_cmd->add_option("--cpu-floor", serve.cpu_floor,
                        "vCPUs the smallest function gets (Lambda's rule: 1769 MB = 1 vCPU)")
      ->capture_default_str()->check(CLI::Range(0.01, 64.0));
  serve_cmd->add_flag("--no-sandbox", serve.no_sandbox,
                      "run environments as plain process trees (debugging only)");
  serve_cmd->add_flag("--no-zygote", serve.no_zygote,
                      "start every python runtime on its own instead of forking it from the python zygote");
  serve_cmd->add_flag("--tmpfs-tmp", serve.tmpfs_tmp,
                      "give environments a tmpfs /tmp, counted in the function's memory, instead of "
                      "one on disk sized by EphemeralStorage");
  serve_cmd->add_option("--freeze-after-ms", serve.freeze_after_ms,
                        "an environment idle this long is frozen until its next event (0: never)")
      ->capture_default_str()->check(CLI::Range(0, 3600000));
  serve_cmd->add_option("--max-unzipped-size", serve.max_unzipped_bytes,
                        "largest unzipped code package, bytes")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve_cmd->add_option("--max-log-mb", serve.max_log_mb,
                        "disk a function's log may use, MiB; the oldest lines go first")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  serve_cmd->add_option("--logs-max-mb", serve.logs_max_mb,
                        "disk all functions' logs may use together, MiB; the oldest files go first")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 30));
  serve_cmd->add_option("--log-retention-scale", serve.log_retention_scale,
                        "scales the day of log retention policies: 0.00001 makes a day 0.864 s (for tests)")
      ->capture_default_str()->check(CLI::Range(0.000001, 1.0));
  const char* http_group = "HTTP limits (advanced)";
  serve_cmd->add_option("--http-max-connections", serve.http_max_connections,
                        "connections open at once, more are answered 503 (0: a quarter of the open-file limit, up to 4096)")
      ->group(http_group)->capture_default_str();
  serve_cmd->add_option("--http-header-timeout-ms", serve.http_header_timeout_ms,
                        "from a request's first byte to the end of its header")
      ->group(http_group)->capture_default_str()->check(CLI::PositiveNumber);
  serve_cmd->add_option("--http-body-timeout-ms", serve.http_body_timeout_ms,
                        "longest wait for more of a request body")
      ->group(http_group)->capture_default_str()->check(CLI::PositiveNumber);
  serve_cmd->add_option("--http-idle-timeout-ms", serve.http_idle_timeout_ms,
                        "an idle keep-alive connection is closed after this")
      ->group(http_group)->capture_default_str()->check(CLI::PositiveNumber);
  serve_cmd->add_option("--http-write-timeout-ms", serve.http_write_timeout_ms,
                        "a response the client stops reading is dropped after this")
      ->group(http_group)->capture_default_str()->check(CLI::PositiveNumber);

  serve_cmd->add_flag("--insecure-no-auth", serve.insecure_no_auth,
                      "allow --listen on an address other hosts reach, although requests are not "
                      "authenticated yet: anyone who reaches it can deploy and run code");

  lambent::cli::DeployOptions deploy;
  auto* deploy_cmd = app.add_subcommand(
      "deploy", "create a function, or update an existing one (only what the flags give changes)");
  deploy_cmd->add_option("code", deploy.dir, "the function's code: a directory (zipped for you) or a .zip file")
      ->required()->check(CLI::ExistingPath);
  deploy_cmd->add_option("--name", deploy.name, "function name")->required();
  deploy_cmd->add_option("--runtime", deploy.runtime,
                         "Lambda's runtime id: python3.8-python3.13, nodejs16.x-nodejs22.x, provided, "
                         "provided.al2, provided.al2023 (needed to create, kept on update)");
  deploy_cmd->add_option("--handler", deploy.handler, "module.function (kept on update when not given)");
  deploy_cmd->add_option("--description", deploy.description);
  deploy_cmd->add_option("--memory", deploy.memory_mb, "MB (128-10240)");
  deploy_cmd->add_option("--timeout", deploy.timeout_s, "seconds (1-900)");
  deploy_cmd->add_option("--env", deploy.env, "KEY=VALUE, repeatable");
  deploy_cmd->add_option("--network", deploy.network, "none (loopback only, default) or host (trusted code)")
      ->check(CLI::IsMember({"none", "host"}));

  lambent::cli::InvokeOptions invoke;
  auto* invoke_cmd = app.add_subcommand("invoke", "invoke a function and print its result");
  invoke_cmd->add_option("name", invoke.name,
                         "FUNCTION, FUNCTION:VERSION, FUNCTION:ALIAS or the function's ARN")->required();
  invoke_cmd->add_option("--payload", invoke.payload, "the event, JSON");
  invoke_cmd->add_option("--payload-file", invoke.payload_file, "read the event from a file");
  invoke_cmd->add_option("--qualifier", invoke.qualifier, "a version or alias (as FUNCTION:QUALIFIER does)");
  invoke_cmd->add_flag("--log", invoke.log, "print the invocation's log tail to stderr");
  invoke_cmd->add_flag("--async", invoke.async, "queue the event and return at once");
  invoke_cmd->add_flag("--stream", invoke.stream,
                       "InvokeWithResponseStream: print the response while the function produces it");

  bool ls_json = false;
  auto* ls_cmd = app.add_subcommand("ls", "list functions");
  ls_cmd->add_flag("--json", ls_json, "print the FunctionConfiguration documents");

  std::string name;
  auto* get_cmd = app.add_subcommand("get", "show a function (FUNCTION:QUALIFIER: one version or alias)");
  get_cmd->add_option("name", name, "FUNCTION, FUNCTION:VERSION or FUNCTION:ALIAS")->required();
  auto* rm_cmd = app.add_subcommand("rm", "delete a function with all its versions, or one version (FUNCTION:VERSION)");
  rm_cmd->add_option("name", name, "FUNCTION, or FUNCTION:VERSION for that version alone")->required();

  // A command on one function, named by its positional FUNCTION (into `name`).
  auto add_function_command = [&](const char* word, const char* description) {
    auto* cmd = app.add_subcommand(word, description);
    cmd->add_option("function", name)->required();
    return cmd;
  };

  lambent::cli::PublishOptions publish;
  auto* publish_cmd = app.add_subcommand(
      "publish", "publish $LATEST as a new version (an immutable snapshot of its code and configuration)");
  publish_cmd->add_option("function", publish.function)->required();
  publish_cmd->add_option("--description", publish.description, "the version's description");
  publish_cmd->add_option("--code-sha256", publish.code_sha256,
                          "publish only if $LATEST's code has this CodeSha256");
  publish_cmd->add_option("--revision-id", publish.revision_id,
                          "publish only if $LATEST is this revision (else 412 PreconditionFailed)");

  bool versions_json = false;
  auto* versions_cmd = add_function_command("versions", "list a function's versions and the aliases on each");
  versions_cmd->add_flag("--json", versions_json, "print the FunctionConfiguration documents");

  lambent::cli::AliasOptions alias;
  auto* alias_cmd = app.add_subcommand("alias", "create, update, delete, show or list a function's aliases");
  alias_cmd->require_subcommand(1);
  auto add_alias_action = [&](const char* action, const char* description, bool needs_alias) {
    auto* cmd = alias_cmd->add_subcommand(action, description);
    cmd->add_option("function", alias.function)->required();
    auto* alias_arg = cmd->add_option("alias", alias.alias, "the alias's name");
    if (needs_alias) alias_arg->required();
    cmd->callback([&alias, action] { alias.action = action; });
    return cmd;
  };
  auto* alias_create = add_alias_action("create", "point a new alias at a published version", true);
  alias_create->add_option("--version", alias.version, "the published version it points to")->required();
  auto* alias_update = add_alias_action("update", "change what an alias points to (only what the flags give)", true);
  alias_update->add_option("--version", alias.version, "the published version it points to");
  for (auto* cmd : {alias_create, alias_update}) {
    auto* weight = cmd->add_option("--weight", alias.weight,
                                   "VERSION=WEIGHT: send that share of calls (0-1, or a percentage) to another "
                                   "published version, as a canary deploy does, e.g. --weight 2=0.1");
    cmd->add_option("--description", alias.description, "the alias's description");
    if (cmd == alias_update) {
      cmd->add_flag("--no-weight", alias.no_weight, "send every call to the alias's version again")->excludes(weight);
      cmd->add_option("--revision-id", alias.revision_id, "update only if the alias is this revision");
    }
  }
  auto* alias_delete = add_alias_action("delete", "delete an alias", true);
  alias_delete->add_option("--revision-id", alias.revision_id, "delete only if the alias is this revision");
  auto* alias_get = add_alias_action("get", "show one alias", true);
  auto* alias_list = add_alias_action("list", "list a function's aliases", false);
  for (auto* cmd : {alias_get, alias_list}) cmd->add_flag("--json", alias.json_output, "print the API's documents");

  lambent::cli::ConcurrencyOptions concurrency;
  auto* concurrency_cmd = app.add_subcommand(
      "concurrency",
      "show or set a function's reserved concurrency (a cap on its invocations at once, held for it) and "
      "provisioned concurrency (environments initialised ahead of demand, per version or alias)");
  concurrency_cmd->add_option("function", concurrency.function, "FUNCTION, or FUNCTION:QUALIFIER for --provisioned")
      ->required();
  auto* reserved_opt = concurrency_cmd->add_option("--reserved", concurrency.reserved,
                                                   "reserve N (0 throttles every call)")
                           ->check(CLI::NonNegativeNumber);
  auto* unreserved_opt = concurrency_cmd->add_flag("--unreserved", concurrency.unreserved,
                                                   "remove the reservation: share the unreserved concurrency");
  reserved_opt->excludes(unreserved_opt);
  auto* provisioned_opt = concurrency_cmd->add_option("--provisioned", concurrency.provisioned,
                                                      "keep N environments of the qualifier ready")
                              ->check(CLI::PositiveNumber);
  auto* no_provisioned_opt = concurrency_cmd->add_flag("--no-provisioned", concurrency.no_provisioned,
                                                       "remove the qualifier's provisioned concurrency");
  provisioned_opt->excludes(no_provisioned_opt);
  concurrency_cmd->add_option("--qualifier", concurrency.qualifier,
                              "the published version or alias --provisioned and --no-provisioned apply to");
  auto* wait_opt = concurrency_cmd->add_flag("--wait", concurrency.wait,
                                             "with --provisioned: wait until the environments are READY");
  wait_opt->needs(provisioned_opt);
  concurrency_cmd->add_option("--wait-timeout", concurrency.wait_timeout_s, "seconds --wait waits at most")
      ->capture_default_str()->check(CLI::PositiveNumber);

  std::vector<std::string> tag_args;
  auto* tag_cmd = add_function_command("tag", "add or change a function's tags");
  tag_cmd->add_option("tags", tag_args, "KEY=VALUE, one or more")->required();
  auto* untag_cmd = add_function_command("untag", "remove tags from a function");
  untag_cmd->add_option("keys", tag_args, "KEY, one or more")->required();
  bool tags_json = false;
  auto* tags_cmd = add_function_command("tags", "list a function's tags as KEY=VALUE");
  tags_cmd->add_flag("--json", tags_json, "print them as a JSON object");

  lambent::cli::LogsOptions logs;
  auto* logs_cmd = app.add_subcommand("logs", "print a function's log");
  logs_cmd->add_option("name", logs.name)->required();
  logs_cmd->add_option("--tail", logs.tail, "only the last N lines (0: none, with -f: only new ones)");
  logs_cmd->add_flag("-f,--follow", logs.follow, "keep printing new lines");
  logs_cmd->add_flag("-t,--timestamps", logs.timestamps, "start each line with the time it was logged");
  logs_cmd->add_option("--since", logs.since, "only lines logged within this long: 30s, 10m, 1h30m, 2d");
  logs_cmd->add_option("--filter", logs.filter,
                       "only lines a CloudWatch filter pattern matches: ERROR, \"a phrase\", ?A ?B, -term, "
                       "{ $.level = \"ERROR\" }");

  lambent::cli::QueueOptions queue;
  auto* queue_cmd = lambent::cli::AddQueueCommand(app, queue);

  lambent::cli::EventsOptions events;
  auto* events_cmd = lambent::cli::AddEventsCommand(app, events);

  lambent::cli::MappingsOptions mappings_options;
  auto* mappings_cmd = lambent::cli::AddMappingsCommand(app, mappings_options);
  lambent::cli::RuleOptions rule_options;
  auto rule_cmds = lambent::cli::AddRuleCommands(app, rule_options);
  lambent::cli::UsageOptions usage;
  auto* usage_cmd = lambent::cli::AddUsageCommand(app, usage);
  auto* runtimes_cmd = app.add_subcommand("runtimes", "list the runtimes this host runs");
  auto* doctor_cmd = app.add_subcommand("doctor", "show which protections this host allows");
  auto* status_cmd = app.add_subcommand(
      "status",
      "show whether the daemon answers, its memory budget and concurrency, and per function and version "
      "its environments, limits, throttles and cold starts");
  auto* version_cmd = app.add_subcommand("version", "print lambent's version");
  auto* help_cmd = app.add_subcommand("help", "describe the commands");

  std::string word = SubcommandWord(argc, argv);
  if (word.empty() && argc == 1) {
    std::cout << app.get_formatter()->make_help(&app, "lambent", CLI::AppFormatMode::Normal);
    return 2;
  }
  bool asks_help_or_version = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    asks_help_or_version |= arg == "-h" || arg == "--help" || arg == "--version";
  }
  if (word.empty() && !asks_help_or_version) {
    std::cerr << "lambent: a command is required. The commands are: " << SubcommandNames(app)
              << ". `lambent help` describes them.\n";
    return 2;
  }
  if (!word.empty() && app.get_subcommands([&](CLI::App* sub) { return sub->check_name(word); }).empty()) {
    std::cerr << "lambent: '" << word << "' is not a lambent command. The commands are: "
              << SubcommandNames(app) << ". `lambent help` describes them.\n";
    return 2;
  }
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (serve_cmd->parsed()) return lambent::cli::Serve(serve);
  if (deploy_cmd->parsed()) return lambent::cli::Deploy(endpoint, deploy);
  if (invoke_cmd->parsed()) return lambent::cli::Invoke(endpoint, invoke);
  if (ls_cmd->parsed()) return lambent::cli::List(endpoint, ls_json);
  if (get_cmd->parsed()) return lambent::cli::Get(endpoint, name);
  if (rm_cmd->parsed()) return lambent::cli::Remove(endpoint, name);
  if (publish_cmd->parsed()) return lambent::cli::Publish(endpoint, publish);
  if (versions_cmd->parsed()) return lambent::cli::Versions(endpoint, name, versions_json);
  if (alias_cmd->parsed()) return lambent::cli::Alias(endpoint, alias);
  if (concurrency_cmd->parsed()) return lambent::cli::Concurrency(endpoint, concurrency);
  if (tag_cmd->parsed()) return lambent::cli::Tag(endpoint, name, tag_args);
  if (untag_cmd->parsed()) return lambent::cli::Untag(endpoint, name, tag_args);
  if (tags_cmd->parsed()) return lambent::cli::Tags(endpoint, name, tags_json);
  if (logs_cmd->parsed()) return lambent::cli::Logs(endpoint, logs);
  if (queue_cmd->parsed()) return lambent::cli::Queue(endpoint, queue);
  if (events_cmd->parsed()) return lambent::cli::Events(endpoint, events);
  if (mappings_cmd->parsed()) return lambent::cli::Mappings(endpoint, mappings_options);
  for (auto* cmd : rule_cmds) {
    if (cmd->parsed()) return lambent::cli::Rules(endpoint, rule_options);
  }
  if (usage_cmd->parsed()) return lambent::cli::Usage(endpoint, usage);
  if (runtimes_cmd->parsed()) return lambent::cli::Runtimes(endpoint);
  if (doctor_cmd->parsed()) return lambent::cli::Doctor();
  if (status_cmd->parsed()) return lambent::cli::Status(endpoint);
  if (version_cmd->parsed()) {
    std::cout << "lambent " << lambent::cli::kVersion << "\n";
    return 0;
  }
  if (help_cmd->parsed()) {
    // help() would describe the `help` subcommand itself, the one parsed.
    std::cout << app.get_formatter()->make_help(&app, "lambent", CLI::AppFormatMode::Normal);
    return 0;
  }
  return 2;
}
