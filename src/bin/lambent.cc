// The `lambent` command: the daemon (`serve`) and the client subcommands.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
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
                        "concurrent environments before invocations are throttled")
      ->capture_default_str()->check(CLI::PositiveNumber);
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
  invoke_cmd->add_option("name", invoke.name)->required();
  invoke_cmd->add_option("--payload", invoke.payload, "the event, JSON");
  invoke_cmd->add_option("--payload-file", invoke.payload_file, "read the event from a file");
  invoke_cmd->add_option("--qualifier", invoke.qualifier);
  invoke_cmd->add_flag("--log", invoke.log, "print the invocation's log tail to stderr");
  invoke_cmd->add_flag("--async", invoke.async, "queue the event and return at once");

  bool ls_json = false;
  auto* ls_cmd = app.add_subcommand("ls", "list functions");
  ls_cmd->add_flag("--json", ls_json, "print the FunctionConfiguration documents");

  std::string name;
  auto* get_cmd = app.add_subcommand("get", "show a function");
  get_cmd->add_option("name", name)->required();
  auto* rm_cmd = app.add_subcommand("rm", "delete a function");
  rm_cmd->add_option("name", name)->required();

  lambent::cli::LogsOptions logs;
  auto* logs_cmd = app.add_subcommand("logs", "print a function's log");
  logs_cmd->add_option("name", logs.name)->required();
  logs_cmd->add_option("--tail", logs.tail, "only the last N lines (0: none, with -f: only new ones)");
  logs_cmd->add_flag("-f,--follow", logs.follow, "keep printing new lines");
  logs_cmd->add_flag("-t,--timestamps", logs.timestamps, "start each line with the time it was logged");

  auto* runtimes_cmd = app.add_subcommand("runtimes", "list the runtimes this host runs");
  auto* doctor_cmd = app.add_subcommand("doctor", "show which protections this host allows");
  auto* status_cmd = app.add_subcommand("status", "show whether the daemon answers, its functions and environments");
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
  if (logs_cmd->parsed()) return lambent::cli::Logs(endpoint, logs);
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
