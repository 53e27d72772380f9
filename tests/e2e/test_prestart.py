"""Prestarted environments (scheduler/prestarter.h): sandboxes whose python or node runtime
was started before any function asked, and which a cold start of a function of that kind
takes over. The function must not be able to tell, except by the speed: its code, variables,
limits, working directory and locked-down init are what an environment started for it has.
Needs sandboxed environments (root); skipped without them unless CI=true."""

import base64
import json
import signal

import pytest

from conftest import (alive, descendants, environment_pids, header, make_zip, prestarted,
                      require_sandbox, wait_until)


@pytest.fixture(scope="module", autouse=True)
def sandboxed_host(bin_dir, request):
    require_sandbox(bin_dir, request, "prestarted environment suite")


FUNCTIONS = "/2015-03-31/functions"

PYTHON = r'''
import json
import os
import subprocess
import urllib.request

def handler(event, context):
    if event.get("spawn"):
        subprocess.Popen(["sleep", "300"])
    if event.get("ask_for_assignment"):
        url = "http://%s/lambent/v1/runtime/assignment" % os.environ["AWS_LAMBDA_RUNTIME_API"]
        try:
            urllib.request.urlopen(url, timeout=5)
            return {"assignment": 200}
        except urllib.error.HTTPError as e:
            return {"assignment": e.code}
    init = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open("/proc/1/status")}
    own = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in open("/proc/self/status")}
    tmp = os.statvfs("/tmp")
    return {"cwd": os.getcwd(), "files": sorted(os.listdir(".")), "env": dict(os.environ),
            "function_name": context.function_name, "memory": context.memory_limit_in_mb,
            "log_stream": context.log_stream_name, "tmp_mb": tmp.f_blocks * tmp.f_frsize >> 20,
            "init": {k: init[k] for k in ("CapEff", "CapBnd", "Seccomp", "NoNewPrivs")},
            "runtime": {k: own[k] for k in ("CapEff", "CapBnd", "Seccomp", "NoNewPrivs")}}
'''

NODE = r'''
const fs = require('node:fs');
exports.handler = async (event, context) => ({
  cwd: process.cwd(),
  files: fs.readdirSync('.').sort(),
  env: { ...process.env },
  function_name: context.functionName,
  memory: context.memoryLimitInMB,
  log_stream: context.logStreamName,
});
'''


def invoke(daemon, name, event=None):
    status, headers, body = daemon.invoke(name, json.dumps(event or {}).encode(),
                                          headers={"X-Amz-Log-Type": "Tail"})
    assert status == 200 and header(headers, "X-Amz-Function-Error") is None, body
    tail = base64.b64decode(header(headers, "X-Amz-Log-Result")).decode()
    return json.loads(body), tail


def environments(daemon, name):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/environments")
    assert status == 200, body
    return json.loads(body)["Environments"]


def ready(daemon, runtime, memory=None):
    return [e for e in prestarted(daemon) if e["State"] == "prestarted" and e["Runtime"] == runtime
            and (memory is None or e["MemorySize"] == memory)]


def retire(daemon, name, **config):
    """A new revision: the warm environment goes, and the next invoke is a cold start."""
    status, _, body = daemon.request("PUT", f"{FUNCTIONS}/{name}/configuration", config)
    assert status == 200, body


def cold_start_in_a_prestarted_environment(daemon, name, runtime, memory=None, **config):
    """Teaches the daemon the function's kind with one cold start, waits for an environment
    of that kind to be prestarted, then cold-starts the function again into it."""
    invoke(daemon, name)
    assert wait_until(lambda: ready(daemon, runtime, memory), timeout=15), prestarted(daemon)
    taken = ready(daemon, runtime, memory)[0]
    retire(daemon, name, **config)
    result, tail = invoke(daemon, name)
    envs = environments(daemon, name)
    assert len(envs) == 1 and envs[0]["Prestarted"], envs
    assert envs[0]["InitPid"] == taken["InitPid"]
    return result, tail, envs[0]


def test_a_prestarted_python_environment_becomes_the_functions_own(daemon):
    daemon.create("pre-py", {"app.py": PYTHON}, MemorySize=256,
                  Environment={"Variables": {"GREETING": "one"}}, EphemeralStorage={"Size": 700})
    result, tail, env = cold_start_in_a_prestarted_environment(
        daemon, "pre-py", "python3.11", Environment={"Variables": {"GREETING": "two"}})

    assert result["env"]["GREETING"] == "two"
    assert "LAMBENT_AWAIT_ASSIGNMENT" not in result["env"]
    assert result["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "pre-py"
    assert result["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert result["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert result["env"]["AWS_LAMBDA_LOG_STREAM_NAME"] == result["log_stream"] == env["Id"]
    assert result["cwd"] == "/var/task" and result["files"] == ["app.py"]
    assert result["function_name"] == "pre-py" and result["memory"] == "256"
    assert result["tmp_mb"] == 700
    # init kept its capabilities only until it had mounted the code.
    locked = {"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "Seccomp": "2", "NoNewPrivs": "1"}
    assert result["init"] == locked and result["runtime"] == locked, result

    # The function's own cold start: Init Duration is its assignment and handler import.
    report = [l for l in tail.splitlines() if l.startswith("REPORT ")][0]
    assert "Init Duration: " in report, tail
    startup = env["Startup"]
    assert startup["TotalMs"] >= startup["AssignMs"] > 0 and startup["RuntimeInitMs"] > 0
    assert abs(startup["AssignMs"] + startup["RuntimeInitMs"] - startup["TotalMs"]) < 0.01
    assert startup["Prestart"]["TotalMs"] > 0

    # The stock is refilled with a new environment, not the one taken.
    assert wait_until(lambda: ready(daemon, "python3.11"), timeout=15), prestarted(daemon)
    assert ready(daemon, "python3.11")[0]["InitPid"] != env["InitPid"]
    # The function's code cannot ask for another function.
    assert invoke(daemon, "pre-py", {"ask_for_assignment": True})[0] == {"assignment": 403}


def test_a_prestarted_node_environment_matches_the_functions_memory(daemon):
    # V8 sizes its heap from the memory limit it starts under: node environments are
    # prestarted per memory size.
    daemon.create("pre-node", {"index.js": NODE}, runtime="nodejs20.x", handler="index.handler",
                  MemorySize=320, Environment={"Variables": {"STAGE": "one"}})
    result, _, env = cold_start_in_a_prestarted_environment(
        daemon, "pre-node", "nodejs20.x", memory=320, Environment={"Variables": {"STAGE": "two"}})
    assert result["env"]["STAGE"] == "two" and "LAMBENT_AWAIT_ASSIGNMENT" not in result["env"]
    assert result["cwd"] == "/var/task" and result["files"] == ["index.js"]
    assert result["function_name"] == "pre-node" and result["memory"] == "320"
    assert result["log_stream"] == env["Id"]

    daemon.create("pre-node-other", {"index.js": NODE}, runtime="nodejs20.x", handler="index.handler",
                  MemorySize=512)
    invoke(daemon, "pre-node-other")
    assert not environments(daemon, "pre-node-other")[0]["Prestarted"]


@pytest.mark.parametrize("runtime,variable", [("python3.11", "PYTHONPATH"), ("nodejs20.x", "NODE_OPTIONS"),
                                              ("python3.11", "LANG")])
def test_functions_whose_variables_the_interpreter_reads_at_start_get_their_own(daemon, runtime, variable):
    files, handler = ({"app.py": PYTHON}, "app.handler") if runtime.startswith("python") else \
        ({"index.js": NODE}, "index.handler")
    daemon.create("pre-teacher", files, runtime=runtime, handler=handler)
    invoke(daemon, "pre-teacher")
    assert wait_until(lambda: ready(daemon, runtime), timeout=15), prestarted(daemon)
    value = {"PYTHONPATH": "/var/task/lib", "NODE_OPTIONS": "--max-old-space-size=100",
             "LANG": "C.UTF-8"}[variable]
    daemon.create("pre-own", files, runtime=runtime, handler=handler,
                  Environment={"Variables": {variable: value}})
    result, _ = invoke(daemon, "pre-own")
    assert result["env"][variable] == value
    assert not environments(daemon, "pre-own")[0]["Prestarted"]
    assert ready(daemon, runtime), "the prestarted environment was used anyway"


def test_a_prestarted_environment_serves_one_function_for_its_life(daemon):
    daemon.create("pre-one", {"app.py": PYTHON})
    daemon.create("pre-two", {"app.py": PYTHON})
    _, _, first = cold_start_in_a_prestarted_environment(daemon, "pre-one", "python3.11", Timeout=4)
    assert wait_until(lambda: ready(daemon, "python3.11"), timeout=15)
    result, _ = invoke(daemon, "pre-two")
    second = environments(daemon, "pre-two")[0]
    assert second["Prestarted"] and second["InitPid"] != first["InitPid"]
    assert result["function_name"] == "pre-two"
    assert invoke(daemon, "pre-one")[0]["function_name"] == "pre-one"
    assert environments(daemon, "pre-one")[0]["InitPid"] == first["InitPid"]


def test_an_init_error_in_a_prestarted_environment_is_the_functions(daemon):
    daemon.create("pre-teach-err", {"app.py": PYTHON})
    invoke(daemon, "pre-teach-err")
    assert wait_until(lambda: ready(daemon, "python3.11"), timeout=15)
    daemon.create("pre-broken", {"app.py": PYTHON}, handler="missing.handler")
    status, headers, body = daemon.invoke("pre-broken")
    assert status == 200 and header(headers, "X-Amz-Function-Error") == "Unhandled", body
    assert json.loads(body)["errorType"] == "Runtime.ImportModuleError", body
    # It was the prestarted one that failed; the stock is refilled.
    assert wait_until(lambda: ready(daemon, "python3.11"), timeout=15), prestarted(daemon)


def test_nothing_outlives_prestarted_environments(make_daemon):
    daemon = make_daemon().start()
    daemon.create("pre-leak", {"app.py": PYTHON}, Timeout=30)
    _, _, env = cold_start_in_a_prestarted_environment(daemon, "pre-leak", "python3.11")
    invoke(daemon, "pre-leak", {"spawn": True})
    used = environment_pids(daemon, "pre-leak")
    assert len(used) >= 3, used  # init, the runtime and the sleep
    assert daemon.request("DELETE", f"{FUNCTIONS}/pre-leak")[0] == 204
    assert wait_until(lambda: not alive(used), timeout=10), alive(used)

    # The stock dies with the daemon, even by SIGKILL.
    assert wait_until(lambda: ready(daemon, "python3.11"), timeout=15)
    stock = []
    for e in prestarted(daemon):
        stock += [e["InitPid"], *descendants(e["InitPid"])]
    assert len(stock) >= 2, stock
    daemon.stop(signal.SIGKILL)
    assert wait_until(lambda: not alive(stock), timeout=10), alive(stock)


def test_prestarting_can_be_turned_off(make_daemon):
    daemon = make_daemon("--prestart", "0").start()
    daemon.create("pre-off", {"app.py": PYTHON})
    invoke(daemon, "pre-off")
    retire(daemon, "pre-off", Timeout=5)
    invoke(daemon, "pre-off")
    assert prestarted(daemon) == []
    assert not environments(daemon, "pre-off")[0]["Prestarted"]
