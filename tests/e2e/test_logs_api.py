"""Function logs as Lambda users' tools read them: Debian's AWS CLI (`aws logs ...`) against the
daemon's CloudWatch Logs API, and `lambent logs --since/--filter/--tail 0 -f`.

One daemon for the module; its retention day is scaled down so that a 1-day policy acts in
seconds (--log-retention-scale)."""

import json
import os
import queue
import re
import subprocess
import threading
import time

import pytest

from conftest import Daemon, wait_until
from test_aws_cli import AwsCli

AWS = "/usr/bin/aws"
# A retention "day" of 1.728 s.
RETENTION_SCALE = "0.00002"
STREAM = re.compile(r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")

APP = """
import json
def handler(event, context):
    print(event.get("say", "hello"))
    if "json" in event:
        print(json.dumps(event["json"]))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def daemon(bin_dir, tmp_path_factory):
    d = Daemon(bin_dir, tmp_path_factory.mktemp("logs") / "data",
               ["--log-retention-scale", RETENTION_SCALE]).start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory):
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    # test_aws_cli's private HOME and dummy credentials, for `aws logs` here.
    return AwsCli("", tmp_path_factory.mktemp("home")).env


def aws_cmd(daemon, *args):
    return [AWS, "--endpoint-url", daemon.endpoint, "logs", *args]


def aws(daemon, env, *args, check=True):
    proc = subprocess.run(aws_cmd(daemon, *args), capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc


def invoke(daemon, name, payload):
    status, _, body = daemon.invoke(name, json.dumps(payload).encode())
    assert status == 200, body


class Lines:
    """A subprocess's stdout lines as they come, read by a thread."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.queue.put(line)

    def wait_for(self, text, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.queue.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return True
        return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def logfn(daemon):
    daemon.create("logfn", {"app.py": APP})
    invoke(daemon, "logfn", {"say": "alpha ERROR one"})
    invoke(daemon, "logfn", {"say": "beta INFO two", "json": {"level": "warn", "n": 7}})
    assert wait_until(lambda: daemon.cli("logs", "logfn").stdout.count("REPORT RequestId") == 2)
    return "logfn"


def test_groups_streams_and_events_through_the_aws_cli(daemon, aws_env, logfn):
    groups = aws(daemon, aws_env, "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/log")
    assert [g["logGroupName"] for g in groups["logGroups"]] == ["/aws/lambda/logfn"]
    streams = aws(daemon, aws_env, "describe-log-streams", "--log-group-name", "/aws/lambda/logfn",
                  "--order-by", "LastEventTime", "--descending")["logStreams"]
    assert streams and all(STREAM.match(s["logStreamName"]) for s in streams), streams
    assert streams[0]["lastEventTimestamp"] >= streams[0]["firstEventTimestamp"] > 0
    stream = streams[0]["logStreamName"]
    events = aws(daemon, aws_env, "get-log-events", "--log-group-name", "/aws/lambda/logfn",
                 "--log-stream-name", stream, "--start-from-head")["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("START RequestId: ") for m in messages), messages
    assert "alpha ERROR one\n" in messages and "beta INFO two\n" in messages
    assert all(abs(e["timestamp"] - time.time() * 1000) < 120_000 for e in events)
    # Without --follow the CLI pages to the end and stops.
    once = subprocess.run(aws_cmd(daemon, "tail", "/aws/lambda/logfn", "--since", "1h", "--filter-pattern", "ERROR"),
                          capture_output=True, text=True, env=aws_env, timeout=30)
    assert once.returncode == 0, once.stderr
    assert [line.split(" ", 2)[2] for line in once.stdout.splitlines()] == ["alpha ERROR one"], once.stdout
    missing = aws(daemon, aws_env, "describe-log-streams", "--log-group-name", "/aws/lambda/nobody", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_filter_log_events_selects_lines_by_pattern(daemon, aws_env, logfn):
    def messages(pattern):
        out = aws(daemon, aws_env, "filter-log-events", "--log-group-name", "/aws/lambda/logfn",
                  "--filter-pattern", pattern)
        for event in out["events"]:
            assert STREAM.match(event["logStreamName"]) and event["eventId"] and event["ingestionTime"]
        return [e["message"].rstrip("\n") for e in out["events"]]

    assert messages("ERROR") == ["alpha ERROR one"]
    assert messages("?alpha ?beta") == ["alpha ERROR one", "beta INFO two"]
    assert messages('"INFO two"') == ["beta INFO two"]
    assert all("REPORT" not in m for m in messages("RequestId -REPORT"))
    assert messages('{ $.level = "warn" && $.n > 5 }') == ['{"level": "warn", "n": 7}']
    assert messages("{ $.n > 7 }") == []
    bad = aws(daemon, aws_env, "filter-log-events", "--log-group-name", "/aws/lambda/logfn",
              "--filter-pattern", '{ $.n > "x" }', check=False)
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr


def test_aws_logs_tail_follow_shows_a_new_invocation_at_once(daemon, aws_env, logfn):
    tail = Lines(aws_cmd(daemon, "tail", "/aws/lambda/logfn", "--follow", "--format", "short"), env=aws_env)
    try:
        assert tail.wait_for("beta INFO two", timeout=20), (tail.seen, tail.proc.stderr)
        # The CLI sleeps 5 s after its first read; from its next one on it holds a token
        # that waits for new lines.
        time.sleep(5.5)
        for n in range(2):
            started = time.time()
            invoke(daemon, "logfn", {"say": f"followed {n}"})
            assert tail.wait_for(f"followed {n}", timeout=10), tail.seen
            took = time.time() - started
            assert took < 2.0, f"the follower saw the line after {took:.2f} s"
    finally:
        tail.stop()


def test_retention_policy_removes_old_events(daemon, aws_env):
    daemon.create("oldfn", {"app.py": APP})
    invoke(daemon, "oldfn", {"say": "ancient"})
    group = ["--log-group-name", "/aws/lambda/oldfn"]
    bad = aws(daemon, aws_env, "put-retention-policy", *group, "--retention-in-days", "2", check=False)
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr
    aws(daemon, aws_env, "put-retention-policy", *group, "--retention-in-days", "1")
    described = aws(daemon, aws_env, "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/oldfn")
    assert described["logGroups"][0]["retentionInDays"] == 1

    def messages():
        return [e["message"] for e in aws(daemon, aws_env, "filter-log-events", *group)["events"]]

    # A retention day lasts 1.7 s here: the writer drops the line soon after.
    assert wait_until(lambda: "ancient\n" not in messages(), timeout=10)
    invoke(daemon, "oldfn", {"say": "recent"})
    assert "recent\n" in messages()
    aws(daemon, aws_env, "delete-retention-policy", *group)
    assert "retentionInDays" not in aws(daemon, aws_env, "describe-log-groups", "--log-group-name-prefix",
                                        "/aws/lambda/oldfn")["logGroups"][0]


def test_lambent_logs_since_filter_and_follow_of_new_lines_only(daemon, logfn):
    only_errors = daemon.cli("logs", "logfn", "--filter", "ERROR", check=True).stdout
    assert only_errors == "alpha ERROR one\n"
    stamped = daemon.cli("logs", "logfn", "--filter", "ERROR", "-t", check=True).stdout
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alpha ERROR one\n$", stamped), stamped
    time.sleep(1.2)
    invoke(daemon, "logfn", {"say": "just now"})
    recent = daemon.cli("logs", "logfn", "--since", "1s", check=True).stdout
    assert "just now" in recent and "alpha ERROR one" not in recent, recent
    assert daemon.cli("logs", "logfn", "--since", "soon").returncode != 0

    follow = Lines([str(daemon.bin_dir / "lambent"), "logs", "logfn", "--tail", "0", "-f"],
                   env=dict(os.environ, LAMBENT_ENDPOINT=daemon.endpoint))
    try:
        time.sleep(1.0)
        invoke(daemon, "logfn", {"say": "brand new"})
        assert follow.wait_for("brand new", timeout=10), follow.seen
        assert not any("alpha ERROR one" in line or "just now" in line for line in follow.seen), follow.seen
    finally:
        follow.stop()
