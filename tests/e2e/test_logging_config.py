"""LoggingConfig end to end: LogFormat JSON with its levels, a custom LogGroup, Lambda's
validation errors, and the Text format as before. Functions are created over the REST API
(Debian's boto3 and AWS CLI predate LoggingConfig); their lines are read back with the AWS
CLI's `aws logs` and checked for the shapes Lambda's runtimes and platform write.

One daemon for the module."""

import json
import os
import re
import subprocess

import pytest

from conftest import Daemon, wait_until
from test_aws_cli import AwsCli

AWS = "/usr/bin/aws"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

PY_APP = """
import logging
log = logging.getLogger("shop")

def handler(event, context):
    print("printed as is")
    log.debug("py debug")
    log.info("py info")
    log.warning("py warn")
    log.error("py error")
    return {"ok": True}
"""

NODE_APP = """
exports.handler = async () => {
  console.trace('node trace'); console.debug('node debug'); console.info('node info');
  console.warn('node warn'); console.error('node error');
  return { ok: true };
};
"""


@pytest.fixture(scope="module")
def daemon(bin_dir, tmp_path_factory):
    d = Daemon(bin_dir, tmp_path_factory.mktemp("logging") / "data").start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory):
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    # test_aws_cli's private HOME and dummy credentials, for `aws logs` here.
    return AwsCli("", tmp_path_factory.mktemp("home")).env


def logs(daemon, env, *args, check=True):
    proc = subprocess.run([AWS, "--endpoint-url", daemon.endpoint, "logs", *args], capture_output=True,
                          text=True, env=env, timeout=60)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def messages(daemon, env, group):
    out = logs(daemon, env, "filter-log-events", "--log-group-name", group)
    return [e["message"].rstrip("\n") for e in out["events"]]


def invoke(daemon, name, trace=None):
    headers = {"X-Amzn-Trace-Id": trace} if trace else {}
    status, _, body = daemon.invoke(name, b"{}", headers)
    assert status == 200 and json.loads(body) == {"ok": True}, body


def records(lines):
    out = []
    for line in lines:
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def config(daemon, name):
    status, _, body = daemon.request("GET", f"/2015-03-31/functions/{name}/configuration")
    assert status == 200, body
    return json.loads(body)["LoggingConfig"]


def update(daemon, name, logging_config):
    return daemon.request("PUT", f"/2015-03-31/functions/{name}/configuration",
                          {"LoggingConfig": logging_config})


def test_python_json_records_levels_and_platform_records(daemon, aws_env):
    created = daemon.create("pyjson", {"app.py": PY_APP},
                            LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    assert created["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "WARN",
                                        "SystemLogLevel": "INFO", "LogGroup": "/aws/lambda/pyjson"}
    invoke(daemon, "pyjson", TRACE)
    group = "/aws/lambda/pyjson"
    assert wait_until(lambda: any('"platform.report"' in m for m in messages(daemon, aws_env, group)))
    lines = messages(daemon, aws_env, group)
    assert "printed as is" in lines
    got = records(lines)
    start = next(r for r in got if r.get("type") == "platform.start")
    assert start["record"] == {"requestId": start["record"]["requestId"], "version": "$LATEST",
                               "tracing": {"type": "X-Amzn-Trace-Id", "value": TRACE}}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", start["time"])
    report = next(r for r in got if r.get("type") == "platform.report")["record"]
    assert report["status"] == "success" and report["requestId"] == start["record"]["requestId"]
    metrics = report["metrics"]
    assert metrics["memorySizeMB"] == 128 and metrics["billedDurationMs"] >= 1
    assert {"durationMs", "maxMemoryUsedMB"} <= set(metrics)
    app = [r for r in got if "level" in r]
    assert [(r["level"], r["message"], r["logger"]) for r in app] == [
        ("WARNING", "py warn", "shop"), ("ERROR", "py error", "shop")]
    assert all(r["requestId"] == start["record"]["requestId"] for r in app)
    assert not any(m.startswith(("START ", "END ", "REPORT ")) for m in lines)
    # The JSON fields are there for CloudWatch filter patterns.
    out = logs(daemon, aws_env, "filter-log-events", "--log-group-name", group,
               "--filter-pattern", '{ $.level = "ERROR" }')
    assert [json.loads(e["message"])["message"] for e in out["events"]] == ["py error"]


def test_node_json_levels_and_system_level_warn(daemon, aws_env):
    daemon.create("nodejson", {"index.js": NODE_APP}, runtime="nodejs20.x", handler="index.handler",
                  LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN"})
    invoke(daemon, "nodejson")
    group = "/aws/lambda/nodejson"
    assert wait_until(lambda: any("node error" in m for m in messages(daemon, aws_env, group)))
    got = records(messages(daemon, aws_env, group))
    assert [(r["level"], r["message"]) for r in got] == [
        ("DEBUG", "node debug"), ("INFO", "node info"), ("WARN", "node warn"), ("ERROR", "node error")]
    assert all(set(r) == {"timestamp", "level", "requestId", "message"} for r in got)
    # SystemLogLevel WARN: no platform.start or platform.report (both are INFO records).
    assert not any("type" in r for r in got)


def test_custom_log_group_is_where_the_lines_are(daemon, aws_env):
    daemon.create("grouped", {"app.py": PY_APP}, LoggingConfig={"LogGroup": "/shared/shop-app"})
    assert config(daemon, "grouped") == {"LogFormat": "Text", "LogGroup": "/shared/shop-app"}
    invoke(daemon, "grouped")
    assert wait_until(lambda: any(m.startswith("REPORT RequestId: ")
                                  for m in messages(daemon, aws_env, "/shared/shop-app")))
    described = logs(daemon, aws_env, "describe-log-groups", "--log-group-name-prefix", "/shared/")
    assert [g["logGroupName"] for g in described["logGroups"]] == ["/shared/shop-app"]
    streams = logs(daemon, aws_env, "describe-log-streams", "--log-group-name", "/shared/shop-app")["logStreams"]
    events = logs(daemon, aws_env, "get-log-events", "--log-group-name", "/shared/shop-app",
                  "--log-stream-name", streams[0]["logStreamName"], "--start-from-head")["events"]
    assert any(e["message"] == "printed as is\n" for e in events)
    default = logs(daemon, aws_env, "filter-log-events", "--log-group-name", "/aws/lambda/grouped", check=False)
    assert default.returncode != 0 and "ResourceNotFoundException" in default.stderr
    # `lambent logs` finds a function's lines by its name, whatever its group.
    assert "printed as is" in daemon.cli("logs", "grouped", check=True).stdout
    # Back to the default group.
    status, _, body = update(daemon, "grouped", {"LogGroup": "/aws/lambda/grouped"})
    assert status == 200 and json.loads(body)["LoggingConfig"]["LogGroup"] == "/aws/lambda/grouped"
    assert "printed as is" in messages(daemon, aws_env, "/aws/lambda/grouped")


def test_validation_errors_and_updates(daemon):
    def refused(logging_config):
        status, headers, body = update(daemon, "plain", logging_config)
        assert status == 400, body
        return headers.get("x-amzn-ErrorType") or headers.get("X-Amzn-ErrorType"), json.loads(body)["message"]

    daemon.create("plain", {"app.py": PY_APP})
    assert config(daemon, "plain") == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    kind, message = refused({"LogFormat": "XML"})
    assert kind == "InvalidParameterValueException" and "loggingConfig.logFormat" in message
    assert "[JSON, Text]" in message
    kind, message = refused({"ApplicationLogLevel": "LOUD", "LogFormat": "JSON"})
    assert "applicationLogLevel" in message
    kind, message = refused({"SystemLogLevel": "TRACE", "LogFormat": "JSON"})
    assert "systemLogLevel" in message
    kind, message = refused({"ApplicationLogLevel": "DEBUG"})
    assert message.startswith('LogLevel is not supported when LogFormat is set to "Text"')
    kind, message = refused({"LogGroup": "bad group!"})
    assert "loggingConfig.logGroup" in message
    status, _, body = daemon.request("POST", "/2015-03-31/functions", {
        "FunctionName": "nope", "Runtime": "python3.11", "Handler": "app.handler", "Role": "r",
        "Code": {"ZipFile": ""}, "LoggingConfig": {"LogFormat": "Text", "SystemLogLevel": "WARN"}})
    assert status == 400 and "LogLevel is not supported" in json.loads(body)["message"]
    # JSON takes INFO/INFO by default; levels merge; Text drops them again.
    status, _, body = update(daemon, "plain", {"LogFormat": "JSON"})
    assert status == 200 and json.loads(body)["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    status, _, body = update(daemon, "plain", {"SystemLogLevel": "DEBUG"})
    assert json.loads(body)["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO",
                                                 "SystemLogLevel": "DEBUG", "LogGroup": "/aws/lambda/plain"}
    # A published version keeps the LoggingConfig it had.
    status, _, body = daemon.request("POST", "/2015-03-31/functions/plain/versions", {})
    assert status == 201, body
    version = json.loads(body)["Version"]
    status, _, body = update(daemon, "plain", {"LogFormat": "Text"})
    assert json.loads(body)["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}
    status, _, body = daemon.request("GET", f"/2015-03-31/functions/plain/configuration?Qualifier={version}")
    assert json.loads(body)["LoggingConfig"]["SystemLogLevel"] == "DEBUG"


def test_text_format_lines_are_unchanged(daemon, aws_env):
    daemon.create("textfmt", {"app.py": PY_APP})
    invoke(daemon, "textfmt", TRACE)
    group = "/aws/lambda/textfmt"
    assert wait_until(lambda: any(m.startswith("REPORT ") for m in messages(daemon, aws_env, group)))
    lines = messages(daemon, aws_env, group)
    start, end, report = (next(m for m in lines if m.startswith(p)) for p in ("START ", "END ", "REPORT "))
    assert re.match(r"^START RequestId: [0-9a-f-]{36} Version: \$LATEST$", start), start
    assert re.match(r"^END RequestId: [0-9a-f-]{36}$", end), end
    assert re.match(r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB(\tInit Duration: \d+\.\d\d ms)?$", report), report
    assert re.match(r"^\[WARNING\]\t\S+Z\t[0-9a-f-]{36}\tpy warn$", next(m for m in lines if "py warn" in m))
    assert records(lines) == []
