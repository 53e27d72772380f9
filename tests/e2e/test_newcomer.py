"""A newcomer's first hour: the README's commands as written, `make install`, the CLI's
help, version and status, `deploy` of an existing function, runtime ids and host versions,
logs, and the Lambda answers a new user meets first (412 on a stale revision, ARNs of
another region or account, TracingConfig, a payload that is not JSON, account settings),
and `serve --listen` beyond loopback."""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO, Daemon, free_port, make_zip, wait_until
from sample_apps import APP, ROLE

AWS = "/usr/bin/aws"

HANDLER = '''\
import os

def handler(event, context):
    print("saw", event)
    return {"event": event, "greeting": os.environ.get("GREETING")}
'''


def write_function(directory, source=HANDLER):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(source)
    return directory


def host_python_minor():
    out = subprocess.run(["/usr/bin/python3", "--version"], capture_output=True, text=True).stdout
    return re.search(r"Python 3\.(\d+)", out).group(1)


def clean_aws_env(home):
    """The environment of a shell with nothing of AWS configured: no AWS_* variables and a
    HOME without ~/.aws."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), PATH="/usr/bin:/bin", AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true")
    return env


def readme_block_after(marker):
    """The first ```sh block of the README that follows `marker`."""
    text = (REPO / "README.md").read_text()
    start = text.index(marker)
    block = text.index("```sh\n", start) + len("```sh\n")
    return text[block:text.index("```", block)]


# --- 13: the README and `make install` -------------------------------------------------

def test_the_readmes_aws_cli_commands_run_as_written_in_a_shell_without_aws_setup(daemon, tmp_path):
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    script = readme_block_after("The same with the AWS CLI")
    assert "AWS_REGION" in script and "AWS_ACCESS_KEY_ID" in script
    script = script.replace("http://127.0.0.1:9000", daemon.endpoint)
    work = tmp_path / "work"
    shutil.copytree(REPO / "examples", work / "examples")
    home = tmp_path / "home"
    home.mkdir()
    # The README says `aws`; Debian's is the one this suite checks.
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("\naws ", f"\n{AWS} ")],
                         cwd=work, env=clean_aws_env(home), capture_output=True, text=True,
                         timeout=180)
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert json.loads((work / "out.json").read_text())["message"] == "Hello, aws!"


def test_the_readmes_example_function_is_not_the_one_make_run_deploys(bin_dir):
    deployed_by_run = re.search(r"--name (\S+)", (REPO / "scripts" / "run-example.sh").read_text()).group(1)
    readme = (REPO / "README.md").read_text()
    using = readme[readme.index("## Using it"):]
    named = set(re.findall(r"--(?:function-)?name (\S+)", using))
    named |= set(re.findall(r"lambent (?:invoke|get|rm|logs) (\S+)", using))
    assert named, "the README names its example function"
    assert deployed_by_run not in named, (deployed_by_run, named)
    # The README says how to get `lambent` on the PATH.
    assert "make install" in readme and "build/bin/lambent" in readme


def test_make_install_gives_a_lambent_that_serves_deploys_and_invokes_from_its_prefix(bin_dir, tmp_path):
    prefix = tmp_path / "prefix"
    # -o: the binaries under test are built already; install only copies them.
    made = subprocess.run(["make", "-s", "-o", "build", "-o", "deps", "install", f"PREFIX={prefix}",
                           f"BUILD={bin_dir.parent}"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, (made.stdout, made.stderr)
    installed = prefix / "bin"
    version = subprocess.run([str(installed / "lambent"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("lambent "), version
    daemon = Daemon(installed, tmp_path / "data").start()
    try:
        fn = write_function(tmp_path / "fn")
        deployed = daemon.cli("deploy", str(fn), "--name", "installed", "--runtime",
                              f"python3.{host_python_minor()}", "--handler", "app.handler")
        assert deployed.returncode == 0, deployed.stderr
        invoked = daemon.cli("invoke", "installed", "--payload", '{"from":"prefix"}')
        assert invoked.returncode == 0, invoked.stderr
        assert json.loads(invoked.stdout)["event"] == {"from": "prefix"}
    finally:
        daemon.stop()
    removed = subprocess.run(["make", "-s", "uninstall", f"PREFIX={prefix}"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert not (installed / "lambent").exists() and not (prefix / "lib" / "lambent").exists()


def test_the_architecture_page_refers_only_to_documents_in_the_repository():
    page = (REPO / "docs" / "architecture.md").read_text()
    for name in re.findall(r"\b([\w./-]+\.md)\b", page):
        candidates = [REPO / name, REPO / "docs" / name]
        assert any(path.exists() for path in candidates), f"docs/architecture.md names {name}"


# --- 14: help, version, status, unknown commands --------------------------------------

def lambent(bin_dir, *args, endpoint=None):
    env = dict(os.environ)
    env.pop("LAMBENT_ENDPOINT", None)
    if endpoint:
        env["LAMBENT_ENDPOINT"] = endpoint
    return subprocess.run([str(bin_dir / "lambent"), *args], capture_output=True, text=True,
                          env=env, timeout=30)


def test_version_and_dash_dash_version_print_the_version(bin_dir):
    for args in (("--version",), ("version",)):
        result = lambent(bin_dir, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert re.fullmatch(r"lambent \d+\.\d+\.\d+\n", result.stdout), result.stdout


def test_help_lists_every_command(bin_dir):
    for args in (("help",), ("--help",), ()):
        result = lambent(bin_dir, *args)
        for command in ("serve", "deploy", "invoke", "logs", "status", "version", "runtimes"):
            assert command in result.stdout, (args, result.stdout)
    assert lambent(bin_dir, "help").returncode == 0


def test_an_unknown_command_names_itself_and_lists_the_real_ones(bin_dir):
    for args in (("frobnicate",), ("--endpoint", "http://127.0.0.1:1", "list", "x")):
        result = lambent(bin_dir, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"'{args[-1] if len(args) == 1 else 'list'}' is not a lambent command" in result.stderr
        assert "deploy" in result.stderr and "status" in result.stderr
        assert "A subcommand is required" not in result.stderr


def test_options_without_a_command_say_a_command_is_required_and_list_them(bin_dir):
    result = lambent(bin_dir, "--endpoint", "http://127.0.0.1:1")
    assert result.returncode == 2
    assert "a command is required" in result.stderr and "deploy" in result.stderr, result.stderr


def test_status_shows_the_daemon_its_functions_and_environments(daemon, tmp_path):
    fn = write_function(tmp_path / "fn")
    daemon.cli("deploy", str(fn), "--name", "st-one", "--runtime", f"python3.{host_python_minor()}",
               "--handler", "app.handler", check=True)
    daemon.cli("invoke", "st-one", check=True)
    status = daemon.cli("status")
    assert status.returncode == 0, status.stderr
    assert daemon.endpoint in status.stdout and "(ok)" in status.stdout
    assert re.search(r"functions\s+1 ", status.stdout), status.stdout
    assert re.search(r"environments\s+\d", status.stdout), status.stdout

    dead = lambent(daemon.bin_dir, "status", endpoint=f"http://127.0.0.1:{free_port()}")
    assert dead.returncode == 2 and "cannot reach the daemon" in dead.stderr


# --- 15: deploy -------------------------------------------------------------------------

def deploy_create(daemon, code, name, *extra):
    return daemon.cli("deploy", str(code), "--name", name, "--runtime",
                      f"python3.{host_python_minor()}", "--handler", "app.handler", *extra)


def test_redeploying_with_only_the_code_keeps_runtime_handler_environment_and_settings(daemon, tmp_path):
    fn = write_function(tmp_path / "fn")
    assert deploy_create(daemon, fn, "dp-keep", "--env", "GREETING=hi", "--memory", "256",
                         "--timeout", "9", "--description", "first").returncode == 0
    write_function(fn, HANDLER.replace('"saw"', '"second saw"'))
    again = daemon.cli("deploy", str(fn), "--name", "dp-keep")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("updated dp-keep")
    config = json.loads(daemon.cli("get", "dp-keep", check=True).stdout)["Configuration"]
    assert config["Runtime"] == f"python3.{host_python_minor()}"
    assert config["Handler"] == "app.handler"
    assert config["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert (config["MemorySize"], config["Timeout"], config["Description"]) == (256, 9, "first")
    invoked = daemon.cli("invoke", "dp-keep", "--payload", '{"n":1}', "--log", check=True)
    assert json.loads(invoked.stdout)["greeting"] == "hi"
    assert "second saw" in invoked.stderr

    # A flag changes only its own setting.
    daemon.cli("deploy", str(fn), "--name", "dp-keep", "--timeout", "4", check=True)
    config = json.loads(daemon.cli("get", "dp-keep", check=True).stdout)["Configuration"]
    assert (config["Timeout"], config["MemorySize"]) == (4, 256)
    assert config["Environment"] == {"Variables": {"GREETING": "hi"}}


def test_deploy_uploads_a_zip_file_as_it_is(daemon, tmp_path):
    package = make_zip({"app.py": HANDLER})
    path = tmp_path / "function.zip"
    path.write_bytes(package)
    deployed = deploy_create(daemon, path, "dp-zip")
    assert deployed.returncode == 0, deployed.stderr
    config = json.loads(daemon.cli("get", "dp-zip", check=True).stdout)["Configuration"]
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    invoked = daemon.cli("invoke", "dp-zip", "--payload", '{"zip":true}', check=True)
    assert json.loads(invoked.stdout)["event"] == {"zip": True}


def test_deploy_of_an_empty_directory_or_a_file_that_is_not_a_zip_says_so(daemon, tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    result = deploy_create(daemon, empty, "dp-empty")
    assert result.returncode == 1
    assert "is empty" in result.stderr and "non-empty zip" not in result.stderr, result.stderr

    not_zip = tmp_path / "app.py"
    not_zip.write_text(HANDLER)
    result = deploy_create(daemon, not_zip, "dp-notzip")
    assert result.returncode == 1 and "is not a zip file" in result.stderr, result.stderr
    listed = daemon.cli("ls", check=True).stdout
    assert "dp-empty" not in listed and "dp-notzip" not in listed


def test_creating_a_function_without_runtime_says_what_is_missing(daemon, tmp_path):
    fn = write_function(tmp_path / "fn")
    result = daemon.cli("deploy", str(fn), "--name", "dp-noruntime", "--handler", "app.handler")
    assert result.returncode == 2
    assert "--runtime" in result.stderr and "dp-noruntime" in result.stderr


# --- 16: runtime ids and the host's versions ---------------------------------------------

def test_a_runtime_id_of_another_python_than_the_hosts_warns_at_deploy_in_the_log_and_in_get(daemon, tmp_path):
    minor = host_python_minor()
    other = "python3.12" if minor != "12" else "python3.13"
    fn = write_function(tmp_path / "fn")
    deployed = daemon.cli("deploy", str(fn), "--name", "rt-other", "--runtime", other,
                          "--handler", "app.handler")
    assert deployed.returncode == 0, deployed.stderr
    assert "warning" in deployed.stderr and other in deployed.stderr
    assert f"Python 3.{minor}" in deployed.stderr, deployed.stderr
    assert wait_until(lambda: f"function rt-other: {other} runs on this host's Python 3.{minor}"
                      in daemon.log(), timeout=5), daemon.log()
    got = json.loads(daemon.cli("get", "rt-other", check=True).stdout)
    assert got["HostRuntime"]["Version"].startswith(f"Python 3.{minor}")
    assert other in got["HostRuntime"]["Warning"]

    same = daemon.cli("deploy", str(fn), "--name", "rt-same", "--runtime", f"python3.{minor}",
                      "--handler", "app.handler")
    assert same.returncode == 0 and "warning" not in same.stderr, same.stderr
    assert "Warning" not in json.loads(daemon.cli("get", "rt-same", check=True).stdout)["HostRuntime"]


@pytest.mark.parametrize("runtime, reason", [
    ("nodejs", "no longer supported"),
    ("python3.7", "no longer supported"),
    ("python3", "enum value set"),
    ("nodejs20", "enum value set"),
    ("java21", "not available on this host"),
    ("ruby3.3", "not available on this host"),
])
def test_runtime_ids_lambda_does_not_accept_or_this_host_cannot_run_are_refused(daemon, tmp_path, runtime, reason):
    fn = write_function(tmp_path / "fn")
    result = daemon.cli("deploy", str(fn), "--name", "rt-refused", "--runtime", runtime,
                        "--handler", "app.handler")
    assert result.returncode == 1
    assert "InvalidParameterValueException" in result.stderr and reason in result.stderr, result.stderr
    assert "rt-refused" not in daemon.cli("ls", check=True).stdout


# --- 18: logs, Location, account settings, revisions, ARNs, tracing, payloads -------------

def test_logs_tail_0_follow_prints_only_what_is_logged_from_then_on(daemon, tmp_path):
    fn = write_function(tmp_path / "fn")
    deploy_create(daemon, fn, "lg-follow").check_returncode()
    daemon.cli("invoke", "lg-follow", "--payload", '{"old":1}', check=True)
    assert wait_until(lambda: "REPORT" in daemon.cli("logs", "lg-follow").stdout, timeout=5)
    env = dict(os.environ, LAMBENT_ENDPOINT=daemon.endpoint)
    follower = subprocess.Popen([str(daemon.bin_dir / "lambent"), "logs", "lg-follow", "--tail", "0", "-f"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
    try:
        time.sleep(1.0)
        daemon.cli("invoke", "lg-follow", "--payload", '{"new":2}', check=True)
        time.sleep(2.0)
    finally:
        os.killpg(follower.pid, signal.SIGTERM)
        out, _ = follower.communicate(timeout=10)
    text = out.decode()
    assert "saw {'new': 2}" in text, text
    assert "saw {'old': 1}" not in text, text
    assert text.count("START RequestId") == 1, text

    # Without -f, --tail 0 prints nothing, but still only for a function that exists.
    assert daemon.cli("logs", "lg-follow", "--tail", "0", check=True).stdout == ""
    missing = daemon.cli("logs", "lg-nobody", "--tail", "0")
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr
    # --tail N -f: the last N lines, then what comes.
    last_two = daemon.cli("logs", "lg-follow", "--tail", "2", check=True).stdout
    assert last_two.startswith("END RequestId") and last_two.count("\n") == 2, last_two


CHATTY = '''\
def handler(event, context):
    for i in range(2000):
        print("filler", i, "x" * 100)
    print("marker", event["n"])
    return event["n"]
'''


def test_logs_follow_prints_every_line_once_across_the_logs_rotation(make_daemon, tmp_path):
    daemon = make_daemon("--max-log-mb", "1").start()  # rotated at 512 KiB: every ~2 invokes
    fn = write_function(tmp_path / "fn", CHATTY)
    deploy_create(daemon, fn, "lg-rotate").check_returncode()
    env = dict(os.environ, LAMBENT_ENDPOINT=daemon.endpoint)
    printed = tmp_path / "followed.txt"
    with open(printed, "wb") as out:  # a file, so the follower never waits on a full pipe
        follower = subprocess.Popen([str(daemon.bin_dir / "lambent"), "logs", "lg-rotate", "-f"],
                                    stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        try:
            for n in range(6):
                daemon.cli("invoke", "lg-rotate", "--payload", json.dumps({"n": n}), check=True)
                time.sleep(0.8)  # the follower polls twice a second
            time.sleep(1.5)
        finally:
            os.killpg(follower.pid, signal.SIGTERM)
            follower.wait(timeout=10)
    text = printed.read_text()
    for n in range(6):
        assert text.count(f"marker {n}\n") == 1, (n, re.findall(r"marker \d+|lambent:.*", text))
    assert text.count("START RequestId") == 6


def test_logs_with_timestamps_starts_each_line_with_the_time_it_was_logged(daemon, tmp_path):
    fn = write_function(tmp_path / "fn")
    deploy_create(daemon, fn, "lg-time").check_returncode()
    daemon.cli("invoke", "lg-time", "--payload", '{"t":1}', check=True)
    assert wait_until(lambda: "REPORT" in daemon.cli("logs", "lg-time").stdout, timeout=5)
    stamped = daemon.cli("logs", "lg-time", "-t", check=True).stdout.splitlines()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$")
    assert stamped and all(stamp.match(line) for line in stamped), stamped
    assert any(stamp.match(line).group(1).startswith(today) for line in stamped) or \
        time.gmtime().tm_hour == 0
    assert any(stamp.match(line).group(2).startswith("START RequestId: ") for line in stamped)
    # Without -t the lines are as the function and Lambda wrote them.
    plain = daemon.cli("logs", "lg-time", check=True).stdout.splitlines()
    assert plain[0].startswith("START RequestId: ")
    assert [stamp.match(line).group(2) for line in stamped] == plain


def test_get_gives_a_code_location_with_the_port_that_downloads_the_package(daemon):
    package = make_zip({"app.py": APP})
    daemon.create("loc", {"app.py": APP})
    got = json.loads(daemon.cli("get", "loc", check=True).stdout)
    location = got["Code"]["Location"]
    assert location.startswith(f"http://127.0.0.1:{daemon.port}/"), location
    with urllib.request.urlopen(location, timeout=10) as response:
        body = response.read()
    assert base64.b64encode(hashlib.sha256(body).digest()).decode() == got["Configuration"]["CodeSha256"]
    assert len(body) == len(package)


def aws_json(daemon, home, *args, check=True):
    env = clean_aws_env(home)
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
               AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))
    proc = subprocess.run([AWS, "--endpoint-url", daemon.endpoint, "lambda", *args],
                          capture_output=True, text=True, env=env, timeout=90)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def test_account_settings_count_the_code_of_every_function(daemon, tmp_path):
    sizes = [daemon.create(name, {"app.py": APP * (i + 1)})["CodeSize"]
             for i, name in enumerate(("acct-a", "acct-b"))]
    settings = aws_json(daemon, tmp_path, "get-account-settings")
    assert settings["AccountUsage"]["FunctionCount"] == 2
    assert settings["AccountUsage"]["TotalCodeSize"] == sum(sizes) > 0
    daemon.cli("rm", "acct-a", check=True)
    settings = aws_json(daemon, tmp_path, "get-account-settings")
    assert settings["AccountUsage"]["TotalCodeSize"] == sizes[1]


def test_a_stale_revision_id_is_412_precondition_failed(daemon, tmp_path):
    created = daemon.create("rev", {"app.py": APP})
    stale = created["RevisionId"]
    aws_json(daemon, tmp_path, "update-function-configuration", "--function-name", "rev",
             "--timeout", "5", "--revision-id", stale)
    for args in (("update-function-configuration", "--function-name", "rev", "--timeout", "6"),
                 ("update-function-code", "--function-name", "rev", "--zip-file",
                  f"fileb://{write_zip(tmp_path)}")):
        proc = aws_json(daemon, tmp_path, *args, "--revision-id", stale, check=False)
        assert proc.returncode != 0
        assert "PreconditionFailedException" in proc.stderr, proc.stderr
    status, headers, body = daemon.request("PUT", "/2015-03-31/functions/rev/configuration",
                                           {"Timeout": 7, "RevisionId": stale})
    assert status == 412 and headers.get("x-amzn-ErrorType") == "PreconditionFailedException", body
    current = json.loads(daemon.request("GET", "/2015-03-31/functions/rev/configuration")[2])
    assert current["Timeout"] == 5
    status, _, _ = daemon.request("PUT", "/2015-03-31/functions/rev/configuration",
                                  {"Timeout": 7, "RevisionId": current["RevisionId"]})
    assert status == 200


def write_zip(tmp_path):
    path = tmp_path / "code.zip"
    path.write_bytes(make_zip({"app.py": APP}))
    return path


def test_an_arn_of_another_region_or_account_is_refused_as_lambda_does(daemon, tmp_path):
    daemon.create("arn-fn", {"app.py": APP})
    ours = "arn:aws:lambda:us-east-1:000000000000:function:arn-fn"
    assert aws_json(daemon, tmp_path, "get-function", "--function-name", ours)["Configuration"]["FunctionName"] == "arn-fn"

    elsewhere = "arn:aws:lambda:eu-west-1:000000000000:function:arn-fn"
    for method, path in (("GET", f"/2015-03-31/functions/{elsewhere}"),
                         ("POST", f"/2015-03-31/functions/{elsewhere}/invocations"),
                         ("GET", f"/2015-03-31/functions/{elsewhere}/configuration")):
        status, headers, body = daemon.request(method, path, b"{}" if method == "POST" else None)
        assert status == 400 and headers.get("x-amzn-ErrorType") == "InvalidParameterValueException"
        assert json.loads(body)["message"] == \
            "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    proc = aws_json(daemon, tmp_path, "get-function", "--function-name", elsewhere, check=False)
    assert proc.returncode != 0 and "not reachable in this region" in proc.stderr

    other_account = "arn:aws:lambda:us-east-1:123456789012:function:arn-fn"
    status, headers, _ = daemon.request("GET", f"/2015-03-31/functions/{other_account}")
    assert status == 403 and headers.get("x-amzn-ErrorType") == "AccessDeniedException"
    status, _, _ = daemon.request("POST", "/2015-03-31/functions", {
        "FunctionName": "arn:aws:lambda:eu-west-1:000000000000:function:arn-new", "Runtime": "python3.11",
        "Handler": "app.handler", "Role": ROLE,
        "Code": {"ZipFile": base64.b64encode(make_zip({"app.py": APP})).decode()}})
    assert status == 400
    assert "arn-new" not in daemon.cli("ls", check=True).stdout


def test_tracing_mode_active_is_refused_until_tracing_exists(daemon, tmp_path):
    zip_path = write_zip(tmp_path)
    proc = aws_json(daemon, tmp_path, "create-function", "--function-name", "tr-active",
                    "--runtime", "python3.11", "--handler", "app.handler", "--role", ROLE,
                    "--zip-file", f"fileb://{zip_path}", "--tracing-config", "Mode=Active", check=False)
    assert proc.returncode != 0 and "InvalidParameterValueException" in proc.stderr
    assert "TracingConfig" in proc.stderr and "Active" in proc.stderr
    created = aws_json(daemon, tmp_path, "create-function", "--function-name", "tr-pass",
                       "--runtime", "python3.11", "--handler", "app.handler", "--role", ROLE,
                       "--zip-file", f"fileb://{zip_path}", "--tracing-config", "Mode=PassThrough")
    assert created["TracingConfig"] == {"Mode": "PassThrough"}
    proc = aws_json(daemon, tmp_path, "update-function-configuration", "--function-name", "tr-pass",
                    "--tracing-config", "Mode=Active", check=False)
    assert proc.returncode != 0 and "InvalidParameterValueException" in proc.stderr
    status, _, _ = daemon.request("PUT", "/2015-03-31/functions/tr-pass/configuration",
                                  {"TracingConfig": {"Mode": "Sometimes"}})
    assert status == 400


def test_a_payload_that_is_not_json_gets_one_message_with_the_position(daemon, tmp_path):
    daemon.create("bad-payload", {"app.py": APP})
    invoked = daemon.cli("invoke", "bad-payload", "--payload", '{"a": 1,\n  oops}')
    assert invoked.returncode == 1
    message = invoked.stderr
    assert message.count("Could not parse") == 1, message
    assert "InvalidRequestContentException" in message and "line 2, column 3" in message, message
    # "n" may begin null: the "o" after it is where the text stops being JSON.
    status, headers, body = daemon.invoke("bad-payload", b"{not json")
    assert status == 400
    assert json.loads(body)["message"].startswith("Could not parse request body into json: ")
    assert "(line 1, column 3)" in json.loads(body)["message"]


# --- 19: serve beyond loopback --------------------------------------------------------------

def test_serve_refuses_a_non_loopback_listen_address_without_insecure_no_auth(bin_dir, tmp_path):
    for listen in (f"0.0.0.0:{free_port()}", f"[::]:{free_port()}", f"192.0.2.1:{free_port()}"):
        result = subprocess.run([str(bin_dir / "lambent"), "serve", "--listen", listen,
                                 "--data-dir", str(tmp_path / "data")],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 2, (listen, result.stdout, result.stderr)
        assert "--insecure-no-auth" in result.stderr and "signature" in result.stderr
        assert not (tmp_path / "data").exists(), "refused before anything is set up"


def test_insecure_no_auth_lets_serve_past_the_refusal_with_a_warning(bin_dir, tmp_path):
    # 192.0.2.1 (TEST-NET-1) is no address of this host: the bind fails, so nothing listens
    # beyond loopback, but the refusal has been passed and the warning written by then.
    result = subprocess.run([str(bin_dir / "lambent"), "serve", "--listen", f"192.0.2.1:{free_port()}",
                             "--insecure-no-auth", "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert "without authentication" in output and "refusing" not in output, output
    assert result.returncode != 0 and "bind(192.0.2.1" in output, output


def test_serve_on_loopback_needs_no_flag_and_accepts_insecure_no_auth(make_daemon):
    plain = make_daemon().start()
    assert plain.request("GET", "/lambent/v1/health")[0] == 200
    flagged = make_daemon("--insecure-no-auth").start()
    assert flagged.request("GET", "/lambent/v1/health")[0] == 200


# --- the same answers through boto3's modeled exceptions -------------------------------------

def test_boto3_sees_lambdas_modeled_exceptions_for_these_answers(daemon):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config
    client = boto3.session.Session().client(
        "lambda", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}))
    package = make_zip({"app.py": APP})
    created = client.create_function(FunctionName="b3-first-hour", Runtime="python3.11",
                                     Handler="app.handler", Role=ROLE, Code={"ZipFile": package})
    client.update_function_configuration(FunctionName="b3-first-hour", Timeout=5)
    with pytest.raises(client.exceptions.PreconditionFailedException) as stale:
        client.update_function_code(FunctionName="b3-first-hour", ZipFile=package,
                                    RevisionId=created["RevisionId"])
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(client.exceptions.InvalidParameterValueException) as region:
        client.invoke(FunctionName="arn:aws:lambda:ap-south-1:000000000000:function:b3-first-hour")
    assert "not reachable in this region" in str(region.value)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.update_function_configuration(FunctionName="b3-first-hour",
                                             TracingConfig={"Mode": "Active"})
    with pytest.raises(client.exceptions.InvalidParameterValueException) as runtime:
        client.create_function(FunctionName="b3-nodejs", Runtime="nodejs", Handler="index.handler",
                               Role=ROLE, Code={"ZipFile": package})
    assert "no longer supported" in str(runtime.value)
    usage = client.get_account_settings()["AccountUsage"]
    assert usage["TotalCodeSize"] == len(package) and usage["FunctionCount"] == 1
