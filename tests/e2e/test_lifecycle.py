"""Execution environments end to end: warm reuse, scaling out, timeouts, crashes, init
failures, the environment a handler sees, log tails, restarts, and that no process outlives
its environment or the daemon."""

import base64
import json
import re
import signal
import threading
import time

import pytest

from conftest import header, make_zip, processes_with_env, wait_until

FUNCTIONS = "/2015-03-31/functions"

# One handler that does what the event asks; it reports which environment ran it.
WORKER = '''\
import os
import subprocess
import time
import uuid

ENVIRONMENT_ID = uuid.uuid4().hex  # fixed for the life of the runtime process
INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if event.get("spawn"):
        subprocess.Popen(["sleep", "300"])
    if event.get("print"):
        print(event["print"], flush=True)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if "exit" in event:
        os._exit(event["exit"])
    return {
        "environment_id": ENVIRONMENT_ID,
        "pid": os.getpid(),
        "invocations": INVOCATIONS,
        "request_id": context.aws_request_id,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "version": "v1",
    }
'''

SHELL_BOOTSTRAP = '''\
#!/bin/sh
# A provided.al2023 runtime: echo the event; exit with status 3 when it says "crash".
# The headers go to stdout (-D -), not to a file: every environment has its own pid namespace,
# so /tmp/headers.$$ would be the same file for all of them.
set -eu
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  RESPONSE=$(curl -sS "$API/invocation/next" -D -)
  ID=$(printf '%s\\n' "$RESPONSE" | grep -i '^Lambda-Runtime-Aws-Request-Id:' | tr -d '\\r' | cut -d' ' -f2)
  EVENT=$(printf '%s\\n' "$RESPONSE" | sed '1,/^\\r*$/d')
  case "$EVENT" in *crash*) echo "bootstrap crashing on $ID"; exit 3;; esac
  echo "bootstrap got $EVENT"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"echo\\": $EVENT}" >/dev/null
done
'''



def invoke_json(daemon, name, event=None, headers=None, timeout=30):
    """Invokes; returns (status, headers, decoded body)."""
    status, got_headers, body = daemon.invoke(name, json.dumps(event or {}).encode(), headers,
                                              timeout=timeout)
    return status, got_headers, json.loads(body) if body else None


def invoke_ok(daemon, name, event=None, headers=None):
    status, got_headers, document = invoke_json(daemon, name, event, headers)
    assert status == 200, document
    assert header(got_headers, "X-Amz-Function-Error") is None, document
    return document


def assert_unhandled(status, headers, document, error_type):
    assert status == 200, document
    assert header(headers, "X-Amz-Function-Error") == "Unhandled", (headers, document)
    assert document["errorType"] == error_type, document
    assert isinstance(document["errorMessage"], str), document
    return document


def tail_of(headers):
    encoded = header(headers, "X-Amz-Log-Result")
    assert encoded, headers
    return base64.b64decode(encoded)


def logs(daemon, name):
    result = daemon.cli("logs", name)
    assert result.returncode == 0, result.stderr
    return result.stdout


def report_lines(text):
    return [line for line in text.splitlines() if line.startswith("REPORT RequestId: ")]


def create_worker(daemon, name, marker=None, **config):
    variables = dict(config.pop("variables", {}))
    if marker:
        variables["LAMBENT_TEST_MARKER"] = marker
    if variables:
        config["Environment"] = {"Variables": variables}
    return daemon.create(name, {"app.py": WORKER}, **config)


@pytest.fixture
def daemon(make_daemon):
    """Every environment on demand: these tests find an environment's init and runtime by the
    function's variables in their /proc/PID/environ, which a prestarted environment's (started
    before it had a function) do not show. test_prestart.py covers those."""
    return make_daemon("--prestart", "0").start()


def assert_no_process_left(marker, timeout=10):
    assert wait_until(lambda: not processes_with_env(marker), timeout=timeout), \
        f"processes left behind: {describe(processes_with_env(marker))}"


def describe(pids):
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            out.append(f"{pid}: {cmdline}")
        except OSError:
            out.append(f"{pid}: (gone)")
    return out


# --- warm and cold ---------------------------------------------------------------------------

def test_the_second_invoke_is_warm_and_runs_in_the_same_environment(daemon):
    create_worker(daemon, "lc-warm", variables={"COLOUR": "teal"})
    tail = {"X-Amz-Log-Type": "Tail"}
    status, headers1, first = invoke_json(daemon, "lc-warm", {}, tail)
    assert status == 200
    status, headers2, second = invoke_json(daemon, "lc-warm", {}, tail)
    assert status == 200

    (report1,) = report_lines(tail_of(headers1).decode())
    (report2,) = report_lines(tail_of(headers2).decode())
    assert "Init Duration: " in report1
    assert "Init Duration" not in report2
    assert second["environment_id"] == first["environment_id"]
    assert second["pid"] == first["pid"]
    assert second["invocations"] == 2
    assert first["env"]["COLOUR"] == second["env"]["COLOUR"] == "teal"
    assert first["env"]["AWS_LAMBDA_LOG_STREAM_NAME"] == second["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert first["request_id"] != second["request_id"]
    assert header(headers1, "x-amzn-RequestId") == first["request_id"]


def test_the_environments_resource_lists_each_environment_with_its_startup_breakdown(daemon):
    create_worker(daemon, "lc-envs")
    status, _, body = daemon.request("GET", "/lambent/v1/functions/lc-envs/environments")
    assert (status, json.loads(body)) == (200, {"Environments": []})
    status, _, first = invoke_json(daemon, "lc-envs", {})
    assert status == 200
    status, _, body = daemon.request("GET", "/lambent/v1/functions/lc-envs/environments")
    assert status == 200
    (env,) = json.loads(body)["Environments"]
    assert env["Id"] == first["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert (env["State"], env["Invocations"]) == ("idle", 1)
    startup = env["Startup"]
    phases = ["PrepareMs", "CloneMs", "InitExecMs", "SandboxMs", "RuntimeExecMs", "RuntimeInitMs"]
    assert all(isinstance(startup[p], float) and startup[p] >= 0 for p in phases), startup
    # One clock for the daemon's and init's steps: the phases add up to the whole.
    assert abs(sum(startup[p] for p in phases) - startup["TotalMs"]) < 0.01, startup
    assert 0 < startup["TotalMs"] < 10000


def test_the_environments_resource_of_an_unknown_function_is_not_found(daemon):
    status, headers, body = daemon.request("GET", "/lambent/v1/functions/lc-nobody/environments")
    assert status == 404
    assert header(headers, "x-amzn-ErrorType") == "ResourceNotFoundException"
    assert "lc-nobody" in json.loads(body)["message"]


def test_concurrent_invocations_all_succeed_in_more_than_one_environment(daemon):
    create_worker(daemon, "lc-concurrent")
    results = [None] * 4

    def call(i):
        results[i] = invoke_json(daemon, "lc-concurrent", {"sleep": 0.5})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.time() - started
    assert all(r is not None for r in results), results
    for status, headers, document in results:
        assert status == 200, document
        assert header(headers, "X-Amz-Function-Error") is None, document
    environments = {document["environment_id"] for _, _, document in results}
    assert len(environments) > 1, environments
    # Four half-second invocations one after another would need 2 s.
    assert elapsed < 2.0 + 1.5, elapsed


def test_invocations_beyond_the_environment_limit_are_throttled_with_429(make_daemon):
    daemon = make_daemon("--max-environments", "1").start()
    create_worker(daemon, "lc-throttle", Timeout=10)
    busy = threading.Thread(target=lambda: daemon.invoke("lc-throttle", b'{"sleep": 1.5}', timeout=20))
    busy.start()
    try:
        assert wait_until(lambda: json.loads(daemon.request("GET", "/lambent/v1/health")[2])
                          ["environments"] == 1, timeout=5)
        time.sleep(0.3)  # the environment is running the sleeping invocation now
        status, headers, body = daemon.invoke("lc-throttle", b"{}")
        assert status == 429, body
        assert header(headers, "x-amzn-ErrorType") == "TooManyRequestsException"
        document = json.loads(body)
        assert document["message"] and document["Type"] == "User" and document["Reason"], document
    finally:
        busy.join(timeout=20)
    # Once the environment is free again it serves the next caller.
    assert invoke_ok(daemon, "lc-throttle")["invocations"] == 2


def test_an_idle_environment_is_stopped_after_the_idle_timeout(make_daemon, marker):
    daemon = make_daemon("--idle-timeout", "1").start()
    create_worker(daemon, "lc-idle", marker)
    first = invoke_ok(daemon, "lc-idle", {"spawn": True})
    assert processes_with_env(marker)
    assert_no_process_left(marker, timeout=6)
    second = invoke_ok(daemon, "lc-idle")
    assert second["environment_id"] != first["environment_id"]


def test_an_event_invocation_is_accepted_with_202_and_runs_in_the_background(daemon):
    create_worker(daemon, "lc-event")
    status, headers, body = daemon.invoke("lc-event", b'{"print": "ran asynchronously"}',
                                          {"X-Amz-Invocation-Type": "Event"})
    assert status == 202, body
    assert body == b""
    request_id = header(headers, "x-amzn-RequestId")
    assert request_id
    assert wait_until(lambda: "ran asynchronously" in logs(daemon, "lc-event")
                      and any(request_id in line for line in report_lines(logs(daemon, "lc-event"))),
                      timeout=10), logs(daemon, "lc-event")


def test_a_dry_run_invocation_returns_204_and_runs_nothing(daemon):
    create_worker(daemon, "lc-dryrun")
    status, _, body = daemon.invoke("lc-dryrun", b'{"print": "should not run"}',
                                    {"X-Amz-Invocation-Type": "DryRun"})
    assert status == 204, body
    time.sleep(0.2)
    assert "should not run" not in logs(daemon, "lc-dryrun")
    assert json.loads(daemon.request("GET", "/lambent/v1/health")[2])["environments"] == 0


# --- failures --------------------------------------------------------------------------------

def test_a_timeout_returns_sandbox_timedout_and_the_next_invoke_gets_a_fresh_environment(daemon):
    create_worker(daemon, "lc-timeout", Timeout=1)
    before = invoke_ok(daemon, "lc-timeout")
    started = time.time()
    status, headers, document = invoke_json(daemon, "lc-timeout", {"sleep": 5, "print": "going to sleep"},
                                            {"X-Amz-Log-Type": "Tail"})
    elapsed = time.time() - started
    assert_unhandled(status, headers, document, "Sandbox.Timedout")
    request_id = header(headers, "x-amzn-RequestId")
    assert document["errorMessage"] == f"RequestId: {request_id} Error: Task timed out after 1.00 seconds"
    assert 0.9 <= elapsed < 4, elapsed
    tail = tail_of(headers).decode()
    assert "going to sleep" in tail
    assert f"{request_id} Task timed out after 1.00 seconds" in tail
    (report,) = report_lines(tail)
    assert report.startswith(f"REPORT RequestId: {request_id}\t") and report.endswith("Status: timeout")

    assert wait_until(lambda: any(request_id in line and "Status: timeout" in line
                                  for line in report_lines(logs(daemon, "lc-timeout"))), timeout=5), \
        logs(daemon, "lc-timeout")
    assert "Task timed out after 1.00 seconds" in logs(daemon, "lc-timeout")

    after = invoke_ok(daemon, "lc-timeout")
    assert after["environment_id"] != before["environment_id"]
    assert after["invocations"] == 1


def test_a_runtime_that_exits_returns_runtime_exit_error_and_the_next_invoke_works(daemon):
    create_worker(daemon, "lc-exit")
    before = invoke_ok(daemon, "lc-exit")
    status, headers, document = invoke_json(daemon, "lc-exit", {"exit": 1})
    assert_unhandled(status, headers, document, "Runtime.ExitError")
    request_id = header(headers, "x-amzn-RequestId")
    assert "exit status 1" in document["errorMessage"]
    assert document["errorMessage"] == \
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 1"

    after = invoke_ok(daemon, "lc-exit")
    assert after["environment_id"] != before["environment_id"]


def test_a_provided_bootstrap_that_exits_returns_runtime_exit_error_and_the_next_invoke_works(daemon):
    daemon.create("lc-shell", {"bootstrap": (SHELL_BOOTSTRAP, 0o755)}, runtime="provided.al2023",
                  handler="unused")
    assert invoke_ok(daemon, "lc-shell", {"n": 1}) == {"echo": {"n": 1}}
    status, headers, document = invoke_json(daemon, "lc-shell", {"crash": True})
    assert_unhandled(status, headers, document, "Runtime.ExitError")
    assert document["errorMessage"].endswith("Runtime exited with error: exit status 3"), document
    assert invoke_ok(daemon, "lc-shell", {"n": 2}) == {"echo": {"n": 2}}
    text = logs(daemon, "lc-shell")
    assert "bootstrap crashing on" in text and 'bootstrap got {"n": 2}' in text


def test_a_handler_calling_sys_exit_0_returns_runtime_exit_error_without_a_reason(daemon):
    daemon.create("lc-sysexit", {"app.py": "import sys\n\ndef handler(event, context):\n"
                                           "    sys.exit(0)\n"})
    status, headers, document = invoke_json(daemon, "lc-sysexit")
    assert_unhandled(status, headers, document, "Runtime.ExitError")
    request_id = header(headers, "x-amzn-RequestId")
    assert document["errorMessage"] == \
        f"RequestId: {request_id} Error: Runtime exited without providing a reason", document


def test_a_runtime_killed_by_a_signal_returns_runtime_exit_error_naming_the_signal(daemon):
    source = ("import os, signal\n\n"
              "def handler(event, context):\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    daemon.create("lc-killed", {"app.py": source})
    status, headers, document = invoke_json(daemon, "lc-killed")
    assert_unhandled(status, headers, document, "Runtime.ExitError")
    assert document["errorMessage"].endswith("Runtime exited with error: signal: killed"), document


def test_a_bootstrap_that_exits_during_init_returns_runtime_exit_error(daemon):
    daemon.create("lc-initexit", {"bootstrap": ("#!/bin/sh\necho giving up\nexit 5\n", 0o755)},
                  runtime="provided.al2023", handler="unused")
    status, headers, document = invoke_json(daemon, "lc-initexit", {}, {"X-Amz-Log-Type": "Tail"})
    assert_unhandled(status, headers, document, "Runtime.ExitError")
    assert "Runtime exited with error: exit status 5" in document["errorMessage"], document
    assert "giving up" in logs(daemon, "lc-initexit")
    assert daemon.proc.poll() is None


def test_a_bootstrap_that_is_not_executable_returns_runtime_invalid_entrypoint(daemon):
    daemon.create("lc-noexec", {"bootstrap": ("#!/bin/sh\nexit 0\n", 0o644)},
                  runtime="provided.al2023", handler="unused")
    status, headers, document = invoke_json(daemon, "lc-noexec")
    assert_unhandled(status, headers, document, "Runtime.InvalidEntrypoint")
    assert "permission denied" in document["errorMessage"].lower(), document


def test_an_import_error_at_init_returns_runtime_import_module_error(daemon):
    daemon.create("lc-import", {"app.py": "import a_module_that_does_not_exist\n\n"
                                          "def handler(event, context):\n    return 1\n"})
    status, headers, document = invoke_json(daemon, "lc-import", {}, {"X-Amz-Log-Type": "Tail"})
    assert_unhandled(status, headers, document, "Runtime.ImportModuleError")
    assert "Unable to import module 'app'" in document["errorMessage"], document
    assert "a_module_that_does_not_exist" in document["errorMessage"], document
    # Still broken, still answered, and the daemon is fine.
    status, headers, document = invoke_json(daemon, "lc-import")
    assert_unhandled(status, headers, document, "Runtime.ImportModuleError")
    assert daemon.proc.poll() is None


def test_a_missing_handler_function_returns_runtime_handler_not_found(daemon):
    daemon.create("lc-nohandler", {"app.py": "def other(event, context):\n    return 1\n"})
    status, headers, document = invoke_json(daemon, "lc-nohandler")
    assert_unhandled(status, headers, document, "Runtime.HandlerNotFound")


def test_a_provided_function_without_a_bootstrap_returns_runtime_invalid_entrypoint(daemon):
    daemon.create("lc-noboot", {"README.txt": "no bootstrap here\n"}, runtime="provided.al2023",
                  handler="unused")
    status, headers, document = invoke_json(daemon, "lc-noboot")
    assert_unhandled(status, headers, document, "Runtime.InvalidEntrypoint")
    status, headers, document = invoke_json(daemon, "lc-noboot")
    assert_unhandled(status, headers, document, "Runtime.InvalidEntrypoint")
    assert daemon.proc.poll() is None


def test_a_handler_exception_returns_the_error_document_with_the_exception_class(daemon):
    source = (
        "class InsufficientFunds(Exception):\n    pass\n\n"
        "def handler(event, context):\n"
        "    raise InsufficientFunds('balance is %d' % event['balance'])\n"
    )
    daemon.create("lc-raises", {"app.py": source})
    status, headers, document = invoke_json(daemon, "lc-raises", {"balance": 7})
    assert_unhandled(status, headers, document, "InsufficientFunds")
    assert document["errorMessage"] == "balance is 7"
    assert isinstance(document.get("stackTrace"), list) and document["stackTrace"], document
    assert any("app.py" in frame for frame in document["stackTrace"]), document
    # The environment survives a handled exception: the next call is warm.
    status, headers, document = invoke_json(daemon, "lc-raises", {"balance": 8},
                                            {"X-Amz-Log-Type": "Tail"})
    assert_unhandled(status, headers, document, "InsufficientFunds")
    tail = tail_of(headers).decode()
    (report,) = report_lines(tail)
    assert "Init Duration" not in report
    assert "InsufficientFunds" in tail and "balance is 8" in tail  # the runtime logs the error


# --- what the handler sees -------------------------------------------------------------------

def test_every_documented_environment_variable_is_set_for_the_handler(daemon):
    create_worker(daemon, "lc-env", MemorySize=256, variables={"MY_SETTING": "on", "EMPTYISH": "x y"})
    document = invoke_ok(daemon, "lc-env")
    env = document["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "lc-env"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/lc-env"
    stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream), stream
    today = time.strftime("%Y/%m/%d", time.gmtime())
    assert stream.startswith(today) or time.gmtime().tm_hour == 0, stream
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert re.fullmatch(r"[0-9.]+:\d+|localhost:\d+|\[[0-9a-f:]+\]:\d+",
                        env["AWS_LAMBDA_RUNTIME_API"]), env["AWS_LAMBDA_RUNTIME_API"]
    assert env["_HANDLER"] == "app.handler"
    # Inside the sandbox, as in Lambda: the code at /var/task, the runtime at /var/runtime.
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" == document["cwd"]
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["TZ"] == ":UTC"
    assert env["LANG"]
    assert "/usr/bin" in env["PATH"].split(":") or "/bin" in env["PATH"].split(":")
    assert env["LD_LIBRARY_PATH"]
    assert env["MY_SETTING"] == "on"
    assert env["EMPTYISH"] == "x y"
    # The daemon's own environment does not leak in.
    assert "LAMBENT_ENDPOINT" not in env and "PYTEST_CURRENT_TEST" not in env


def test_log_type_tail_returns_the_base64_log_of_the_invocation(daemon):
    create_worker(daemon, "lc-tail")
    status, headers, document = invoke_json(daemon, "lc-tail", {"print": "a line from the handler"},
                                            {"X-Amz-Log-Type": "Tail"})
    assert status == 200
    tail = tail_of(headers)
    assert len(tail) <= 4096
    lines = tail.decode().splitlines()
    request_id = document["request_id"]
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST", lines
    assert "a line from the handler" in lines
    assert lines[-2] == f"END RequestId: {request_id}", lines
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: "), lines
    assert "\tBilled Duration: " in lines[-1] and "\tMemory Size: 128 MB\t" in lines[-1]

    # Without the header there is no log in the response.
    status, headers, _ = invoke_json(daemon, "lc-tail")
    assert header(headers, "X-Amz-Log-Result") is None


def test_log_type_tail_keeps_only_the_last_4_kb(daemon):
    create_worker(daemon, "lc-bigtail")
    noisy = "".join(f"line {i:05d} " + "x" * 90 + "\n" for i in range(300))  # ~30 KB
    status, headers, document = invoke_json(daemon, "lc-bigtail", {"print": noisy + "LAST-LINE"},
                                            {"X-Amz-Log-Type": "Tail"})
    assert status == 200
    tail = tail_of(headers)
    assert 3000 < len(tail) <= 4096, len(tail)
    text = tail.decode(errors="replace")
    assert "START RequestId" not in text
    assert "LAST-LINE" in text and "line 00299" in text
    assert text.rstrip("\n").splitlines()[-1].startswith(f"REPORT RequestId: {document['request_id']}")


# --- state and code --------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_functions_and_their_latest_code_survive_a_daemon_restart(make_daemon, tmp_path, sig):
    data_dir = tmp_path / "persistent"
    first = make_daemon(data_dir=data_dir).start()
    create_worker(first, "lc-persist", Timeout=11, MemorySize=320, variables={"KEPT": "yes"})
    create_worker(first, "lc-persist-gone")
    before = invoke_ok(first, "lc-persist")
    new_code = WORKER.replace('"version": "v1"', '"version": "v2"')
    status, _, body = first.request("PUT", f"{FUNCTIONS}/lc-persist/code",
                                    {"ZipFile": base64.b64encode(make_zip({"app.py": new_code})).decode()})
    assert status == 200, body
    code_sha = json.loads(body)["CodeSha256"]
    assert first.request("DELETE", f"{FUNCTIONS}/lc-persist-gone")[0] == 204
    first.stop(sig)

    second = make_daemon(data_dir=data_dir).start()
    status, _, body = second.request("GET", f"{FUNCTIONS}/lc-persist")
    assert status == 200, body
    config = json.loads(body)["Configuration"]
    assert config["Timeout"] == 11 and config["MemorySize"] == 320
    assert config["Environment"] == {"Variables": {"KEPT": "yes"}}
    assert config["CodeSha256"] == code_sha
    after = invoke_ok(second, "lc-persist", {"again": 1})
    assert after["env"]["KEPT"] == "yes"
    assert after["version"] == "v2"
    assert after["environment_id"] != before["environment_id"]
    names = [f["FunctionName"] for f in json.loads(second.request("GET", FUNCTIONS)[2])["Functions"]]
    assert names == ["lc-persist"]


def test_updating_the_code_makes_the_next_invoke_run_the_new_code(daemon, marker):
    create_worker(daemon, "lc-update", marker)
    old = invoke_ok(daemon, "lc-update")
    assert old["version"] == "v1"
    new_code = WORKER.replace('"version": "v1"', '"version": "v2"')
    zipped = base64.b64encode(make_zip({"app.py": new_code})).decode()
    status, _, body = daemon.request("PUT", f"{FUNCTIONS}/lc-update/code", {"ZipFile": zipped})
    assert status == 200, body
    new = invoke_ok(daemon, "lc-update")
    assert new["version"] == "v2"
    assert new["environment_id"] != old["environment_id"]
    # The old environment was stopped, not left idle: only the new one's init and runtime
    # carry the marker.
    assert wait_until(lambda: len(processes_with_env(marker)) == 2, timeout=10)
    assert invoke_ok(daemon, "lc-update")["version"] == "v2"


def test_an_invocation_in_flight_during_a_code_update_finishes_on_the_old_code(daemon, marker):
    create_worker(daemon, "lc-inflight", marker, Timeout=10)
    result = {}
    slow = threading.Thread(target=lambda: result.update(
        response=invoke_json(daemon, "lc-inflight", {"sleep": 1})))
    slow.start()

    def busy():
        # Running, not merely started: an update that lands while the invocation still waits
        # for its environment rightly runs it on the new code.
        status, _, body = daemon.request("GET", "/lambent/v1/functions/lc-inflight/environments")
        return status == 200 and any(e["State"] == "busy" for e in json.loads(body)["Environments"])
    assert wait_until(busy, timeout=10)
    new_code = WORKER.replace('"version": "v1"', '"version": "v2"')
    status, _, body = daemon.request(
        "PUT", f"{FUNCTIONS}/lc-inflight/code",
        {"ZipFile": base64.b64encode(make_zip({"app.py": new_code})).decode()})
    assert status == 200, body
    slow.join(timeout=15)
    status, headers, old = result["response"]
    assert status == 200 and header(headers, "X-Amz-Function-Error") is None, old
    assert old["version"] == "v1"
    new = invoke_ok(daemon, "lc-inflight")
    assert new["version"] == "v2" and new["environment_id"] != old["environment_id"]
    # The old environment is stopped once it finished.
    assert wait_until(lambda: len(processes_with_env(marker)) == 2, timeout=10)


def test_deleting_a_function_during_an_invocation_lets_it_finish_then_stops_everything(daemon, marker):
    create_worker(daemon, "lc-delbusy", marker, Timeout=10)
    result = {}
    slow = threading.Thread(target=lambda: result.update(
        response=invoke_json(daemon, "lc-delbusy", {"sleep": 1, "spawn": True})))
    slow.start()
    assert wait_until(lambda: len(processes_with_env(marker)) >= 3, timeout=5)
    status, _, _ = daemon.request("DELETE", f"{FUNCTIONS}/lc-delbusy")
    assert status == 204
    slow.join(timeout=15)
    status, headers, document = result["response"]
    assert status == 200 and header(headers, "X-Amz-Function-Error") is None, document
    assert_no_process_left(marker)
    assert daemon.invoke("lc-delbusy")[0] == 404


def test_updating_the_configuration_makes_the_next_invoke_see_it(daemon):
    create_worker(daemon, "lc-reconfig", variables={"STAGE": "one"})
    assert invoke_ok(daemon, "lc-reconfig")["env"]["STAGE"] == "one"
    status, _, body = daemon.request("PUT", f"{FUNCTIONS}/lc-reconfig/configuration",
                                     {"Environment": {"Variables": {"STAGE": "two"}}, "MemorySize": 192})
    assert status == 200, body
    env = invoke_ok(daemon, "lc-reconfig")["env"]
    assert env["STAGE"] == "two"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"


# --- nothing outlives its environment --------------------------------------------------------

def spawn_grandchild(daemon, name, marker):
    """One invocation that leaves a `sleep 300` behind in the environment."""
    invoke_ok(daemon, name, {"spawn": True})
    # lambent-init, the runtime and the sleep all carry the marker.
    assert wait_until(lambda: len(processes_with_env(marker)) >= 3, timeout=5), \
        describe(processes_with_env(marker))


@pytest.mark.parametrize("ending", ["timeout", "runtime_crash"])
def test_no_process_outlives_an_environment_that_failed(daemon, marker, ending):
    name = f"lc-leak-{ending.replace('_', '-')}"
    create_worker(daemon, name, marker, Timeout=1)
    spawn_grandchild(daemon, name, marker)
    event = {"spawn": True, "sleep": 5} if ending == "timeout" else {"spawn": True, "exit": 1}
    status, headers, document = invoke_json(daemon, name, event)
    expected = "Sandbox.Timedout" if ending == "timeout" else "Runtime.ExitError"
    assert_unhandled(status, headers, document, expected)
    assert_no_process_left(marker)
    assert daemon.proc.poll() is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_process_outlives_the_daemon(make_daemon, marker, sig):
    # A short grace: SIGTERM lets in-flight calls finish for that long, then stops them.
    daemon = make_daemon("--prestart", "0", "--shutdown-grace", "1").start()
    create_worker(daemon, "lc-leak-daemon", marker, Timeout=60)
    spawn_grandchild(daemon, "lc-leak-daemon", marker)
    # Two invocations that stay busy: one in the warm environment (which then holds two
    # sleeps), one in a second environment.
    def busy_invoke():
        try:
            daemon.invoke("lc-leak-daemon", b'{"spawn": true, "sleep": 30}', timeout=40)
        except OSError:
            pass  # the daemon dies under it

    busy = [threading.Thread(target=busy_invoke, daemon=True) for _ in range(2)]
    for t in busy:
        t.start()
    # 2 x (lambent-init, runtime) + 3 sleeps
    assert wait_until(lambda: len(processes_with_env(marker)) >= 7, timeout=10), \
        describe(processes_with_env(marker))
    daemon.stop(sig)
    assert daemon.proc.returncode is not None
    assert_no_process_left(marker)
    for t in busy:
        t.join(timeout=10)


def test_deleting_an_idle_function_stops_its_environments(daemon, marker):
    create_worker(daemon, "lc-delete", marker)
    spawn_grandchild(daemon, "lc-delete", marker)
    status, _, _ = daemon.request("DELETE", f"{FUNCTIONS}/lc-delete")
    assert status == 204
    assert_no_process_left(marker)
    status, _, _ = daemon.invoke("lc-delete")
    assert status == 404
    assert daemon.proc.poll() is None
