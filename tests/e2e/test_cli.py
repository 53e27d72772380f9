"""The `lambent` command line client against a real daemon: deploy, invoke, ls, get, rm, logs,
runtimes, and how it reports an unreachable daemon or an unknown function."""

import json
import os
import subprocess

from conftest import free_port, wait_until

HANDLER_V1 = '''\
import os

def handler(event, context):
    print("handler saw", event)
    return {"version": 1, "event": event, "greeting": os.environ.get("GREETING")}
'''

HANDLER_V2 = '''\
import os

def handler(event, context):
    print("second version saw", event)
    return {"version": 2, "event": event, "greeting": os.environ.get("GREETING")}
'''

FAILING_HANDLER = '''\
class PaymentDeclined(Exception):
    pass

def handler(event, context):
    raise PaymentDeclined("card 4242 was declined")
'''


def write_function(directory, source):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(source)
    return directory


def deploy(daemon, directory, name, *extra):
    return daemon.cli("deploy", str(directory), "--name", name, "--runtime", "python3.11",
                      "--handler", "app.handler", *extra)


def run_cli(daemon, *args, endpoint_env=None, timeout=30):
    """Runs `lambent` with LAMBENT_ENDPOINT set to `endpoint_env` (unset when None)."""
    env = dict(os.environ)
    env.pop("LAMBENT_ENDPOINT", None)
    if endpoint_env is not None:
        env["LAMBENT_ENDPOINT"] = endpoint_env
    return subprocess.run([str(daemon.bin_dir / "lambent"), *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def unused_endpoint():
    return f"http://127.0.0.1:{free_port()}"


def test_deploy_creates_a_function_that_invoke_runs_and_prints_the_result(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    deployed = deploy(daemon, fn, "cli-hello", "--memory", "256", "--timeout", "10",
                      "--env", "GREETING=hi")
    assert deployed.returncode == 0, deployed.stderr
    assert "created" in deployed.stdout and "cli-hello" in deployed.stdout

    invoked = daemon.cli("invoke", "cli-hello", "--payload", '{"x":1}')
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"version": 1, "event": {"x": 1}, "greeting": "hi"}

    status, _, body = daemon.request("GET", "/2015-03-31/functions/cli-hello/configuration")
    assert status == 200
    config = json.loads(body)
    assert config["MemorySize"] == 256
    assert config["Timeout"] == 10
    assert config["Runtime"] == "python3.11"
    assert config["Handler"] == "app.handler"
    assert config["Environment"] == {"Variables": {"GREETING": "hi"}}


def test_a_second_deploy_updates_the_code_and_the_configuration(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-update", "--env", "GREETING=hi").returncode == 0
    first = daemon.cli("invoke", "cli-update", check=True)
    assert json.loads(first.stdout)["version"] == 1

    write_function(fn, HANDLER_V2)
    redeployed = deploy(daemon, fn, "cli-update", "--memory", "512", "--timeout", "7",
                        "--env", "GREETING=bye")
    assert redeployed.returncode == 0, redeployed.stderr
    assert "updated" in redeployed.stdout

    second = daemon.cli("invoke", "cli-update", "--payload", '{"y":2}', check=True)
    assert json.loads(second.stdout) == {"version": 2, "event": {"y": 2}, "greeting": "bye"}
    config = json.loads(daemon.cli("get", "cli-update", check=True).stdout)["Configuration"]
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 7
    listed = daemon.cli("ls", check=True).stdout
    assert listed.count("cli-update") == 1


def test_invoke_with_log_prints_the_log_tail_to_stderr(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-log").returncode == 0
    invoked = daemon.cli("invoke", "cli-log", "--payload", '{"x":1}', "--log")
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["event"] == {"x": 1}
    lines = invoked.stderr.splitlines()
    assert any(line.startswith("START RequestId: ") for line in lines), invoked.stderr
    assert any(line.startswith("END RequestId: ") for line in lines), invoked.stderr
    assert any(line.startswith("REPORT RequestId: ") for line in lines), invoked.stderr
    assert "handler saw {'x': 1}" in invoked.stderr
    # The log goes to stderr only: stdout stays the bare result.
    assert "START RequestId" not in invoked.stdout


def test_a_handler_error_exits_non_zero_and_prints_the_error_document(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", FAILING_HANDLER)
    assert deploy(daemon, fn, "cli-fails").returncode == 0
    invoked = daemon.cli("invoke", "cli-fails", "--payload", "{}")
    assert invoked.returncode != 0
    document = json.loads(invoked.stdout)
    assert document["errorType"] == "PaymentDeclined"
    assert document["errorMessage"] == "card 4242 was declined"
    assert "Unhandled" in invoked.stderr


def test_ls_lists_every_deployed_function(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    for name in ("cli-list-a", "cli-list-b"):
        assert deploy(daemon, fn, name, "--memory", "192").returncode == 0
    listed = daemon.cli("ls")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    names = [row[0] for row in rows if row]
    assert "cli-list-a" in names and "cli-list-b" in names
    row = next(row for row in rows if row and row[0] == "cli-list-a")
    assert "python3.11" in row and "app.handler" in row and "192" in row

    as_json = daemon.cli("ls", "--json", check=True)
    documents = json.loads(as_json.stdout)
    assert sorted(d["FunctionName"] for d in documents) == ["cli-list-a", "cli-list-b"]


def test_get_prints_the_function_as_json_with_its_configuration(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-get", "--timeout", "9").returncode == 0
    got = daemon.cli("get", "cli-get")
    assert got.returncode == 0, got.stderr
    document = json.loads(got.stdout)
    config = document["Configuration"]
    assert config["FunctionName"] == "cli-get"
    assert config["FunctionArn"].endswith(":function:cli-get")
    assert config["Timeout"] == 9
    assert config["Runtime"] == "python3.11"
    assert config["CodeSha256"] and config["CodeSize"] > 0


def test_rm_deletes_the_function_and_a_later_invoke_fails_with_resource_not_found(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-rm").returncode == 0
    daemon.cli("invoke", "cli-rm", check=True)
    removed = daemon.cli("rm", "cli-rm")
    assert removed.returncode == 0, removed.stderr
    assert "cli-rm" not in daemon.cli("ls", check=True).stdout

    invoked = daemon.cli("invoke", "cli-rm")
    assert invoked.returncode != 0
    assert "ResourceNotFoundException" in invoked.stderr


def test_logs_prints_start_end_report_lines_and_the_handlers_output(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-logs").returncode == 0
    daemon.cli("invoke", "cli-logs", "--payload", '{"n":1}', check=True)
    daemon.cli("invoke", "cli-logs", "--payload", '{"n":2}', check=True)

    # REPORT is written just after the caller got its answer.
    def both_reports():
        return daemon.cli("logs", "cli-logs").stdout.count("REPORT RequestId: ") == 2

    assert wait_until(both_reports, timeout=5)
    logs = daemon.cli("logs", "cli-logs")
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert sum(line.startswith("START RequestId: ") for line in lines) == 2
    assert sum(line.startswith("END RequestId: ") for line in lines) == 2
    assert "handler saw {'n': 1}" in logs.stdout
    assert "handler saw {'n': 2}" in logs.stdout
    reports = [line for line in lines if line.startswith("REPORT RequestId: ")]
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]

    tail = daemon.cli("logs", "cli-logs", "--tail", "1", check=True)
    assert tail.stdout.strip().startswith("REPORT RequestId: ")
    assert "START" not in tail.stdout


def test_runtimes_lists_python_node_and_provided_with_versions(daemon):
    listed = daemon.cli("runtimes")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert "python3.8-3.13" in rows and "Python 3." in rows["python3.8-3.13"]
    assert "nodejs16.x-22.x" in rows
    assert any(key.startswith("provided") for key in rows)
    node = rows["nodejs16.x-22.x"]
    assert ("yes" in node and " v" in node) or "no" in node.split()


def test_the_endpoint_flag_overrides_the_environment_variable(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-endpoint").returncode == 0
    listed = run_cli(daemon, "--endpoint", daemon.endpoint, "ls", endpoint_env=unused_endpoint())
    assert listed.returncode == 0, listed.stderr
    assert "cli-endpoint" in listed.stdout
    invoked = run_cli(daemon, "--endpoint", daemon.endpoint, "invoke", "cli-endpoint",
                      "--payload", '{"via":"flag"}')
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["event"] == {"via": "flag"}


def test_an_unreachable_endpoint_gives_a_clear_message_and_exit_code_2(daemon):
    dead = unused_endpoint()
    for args in (("ls",), ("invoke", "anything"), ("get", "anything"), ("runtimes",)):
        result = run_cli(daemon, "--endpoint", dead, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "cannot reach the daemon" in result.stderr and dead in result.stderr, result.stderr
    from_env = run_cli(daemon, "ls", endpoint_env=dead)
    assert from_env.returncode == 2
    assert dead in from_env.stderr


def test_an_unknown_function_exits_1_with_the_error_type(daemon):
    for args in (("invoke", "cli-nobody"), ("get", "cli-nobody"), ("rm", "cli-nobody"),
                 ("logs", "cli-nobody")):
        result = daemon.cli(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "ResourceNotFoundException" in result.stderr, (args, result.stderr)
        assert "cli-nobody" in result.stderr


def test_deploy_with_an_unknown_runtime_exits_1_with_the_error_type(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    result = daemon.cli("deploy", str(fn), "--name", "cli-cobol", "--runtime", "cobol9",
                        "--handler", "app.handler")
    assert result.returncode == 1
    assert "InvalidParameterValueException" in result.stderr
    assert "cli-cobol" not in daemon.cli("ls", check=True).stdout


BOOTSTRAP = """\
#!/bin/sh
set -eu
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  RESPONSE=$(curl -sS "$API/invocation/next" -D -)
  ID=$(printf '%s\\n' "$RESPONSE" | grep -i '^Lambda-Runtime-Aws-Request-Id:' | tr -d '\\r' | cut -d' ' -f2)
  EVENT=$(printf '%s\\n' "$RESPONSE" | sed '1,/^\\r*$/d')
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"from\\": \\"$(./lib/name.sh)\\", \\"event\\": $EVENT}" >/dev/null
done
"""


def test_deploy_keeps_subdirectories_and_executable_bits(daemon, tmp_path):
    fn = tmp_path / "provided"
    (fn / "lib").mkdir(parents=True)
    (fn / "bootstrap").write_text(BOOTSTRAP)
    (fn / "bootstrap").chmod(0o755)
    (fn / "lib" / "name.sh").write_text("#!/bin/sh\necho shell-runtime\n")
    (fn / "lib" / "name.sh").chmod(0o755)
    deployed = daemon.cli("deploy", str(fn), "--name", "cli-provided", "--runtime", "provided.al2023")
    assert deployed.returncode == 0, deployed.stderr
    invoked = daemon.cli("invoke", "cli-provided", "--payload", '{"k":"v"}')
    assert invoked.returncode == 0, (invoked.stdout, invoked.stderr)
    assert json.loads(invoked.stdout) == {"from": "shell-runtime", "event": {"k": "v"}}


def test_deploy_packages_python_modules_in_subpackages(daemon, tmp_path):
    fn = tmp_path / "pkg"
    (fn / "helpers").mkdir(parents=True)
    (fn / "helpers" / "__init__.py").write_text("")
    (fn / "helpers" / "maths.py").write_text("def double(x):\n    return 2 * x\n")
    (fn / "app.py").write_text("from helpers.maths import double\n\n"
                               "def handler(event, context):\n    return double(event['n'])\n")
    assert deploy(daemon, fn, "cli-pkg").returncode == 0
    invoked = daemon.cli("invoke", "cli-pkg", "--payload", '{"n": 21}', check=True)
    assert invoked.stdout.strip() == "42"


def test_invoke_reads_the_payload_from_a_file(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-file").returncode == 0
    event = tmp_path / "event.json"
    event.write_text('{"from": "file", "list": [1, 2, 3]}')
    invoked = daemon.cli("invoke", "cli-file", "--payload-file", str(event), check=True)
    assert json.loads(invoked.stdout)["event"] == {"from": "file", "list": [1, 2, 3]}
    missing = daemon.cli("invoke", "cli-file", "--payload-file", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "nope.json" in missing.stderr


def test_invoke_with_a_payload_that_is_not_json_exits_1_with_the_error_type(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-badjson").returncode == 0
    invoked = daemon.cli("invoke", "cli-badjson", "--payload", "{not json")
    assert invoked.returncode == 1
    assert "InvalidRequestContentException" in invoked.stderr


def test_invoke_async_queues_the_event_and_the_function_runs(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-async").returncode == 0
    queued = daemon.cli("invoke", "cli-async", "--async", "--payload", '{"async": true}')
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("queued ")
    request_id = queued.stdout.split()[1]
    assert wait_until(lambda: f"REPORT RequestId: {request_id}" in daemon.cli("logs", "cli-async").stdout,
                      timeout=10)
    assert "handler saw {'async': True}" in daemon.cli("logs", "cli-async").stdout


def test_logs_of_a_function_never_invoked_is_empty(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    assert deploy(daemon, fn, "cli-quiet").returncode == 0
    logs = daemon.cli("logs", "cli-quiet")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip() == ""


def test_deploy_with_a_malformed_env_option_exits_2_and_creates_nothing(daemon, tmp_path):
    fn = write_function(tmp_path / "fn", HANDLER_V1)
    result = deploy(daemon, fn, "cli-badenv", "--env", "NOEQUALS")
    assert result.returncode == 2
    assert "KEY=VALUE" in result.stderr
    assert "cli-badenv" not in daemon.cli("ls", check=True).stdout
