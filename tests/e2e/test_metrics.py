"""GET /metrics against the real daemon: after successes, a function error, a throttle
(reserved concurrency 0) and an async event, the scrape passes `promtool check metrics`
(Debian's prometheus package) and every counter has moved by what was done. The registry's
buckets and label caps are unit-tested (src/metrics/metrics_registry_test.cc)."""
import json
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from conftest import header, wait_until

HANDLER = '''\
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True}
'''

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(daemon):
    status, headers, body = daemon.request("GET", "/metrics")
    assert status == 200, (status, body)
    assert header(headers, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    return body.decode()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def promtool_check(text):
    promtool = shutil.which("promtool")
    if not promtool:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing (Debian package prometheus; scripts/install-deps.sh installs it)")
        print("SKIPPED the promtool check: promtool is missing (Debian package prometheus)")
        return
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, (proc.stdout, proc.stderr, text)


def test_counters_move_by_what_was_done_and_promtool_accepts_the_scrape(daemon):
    daemon.create("metered", {"app.py": HANDLER})
    daemon.create("limited", {"app.py": HANDLER})
    promtool_check(scrape(daemon))  # an idle daemon's scrape is valid too

    for _ in range(3):
        status, _, body = daemon.invoke("metered", b"{}")
        assert status == 200, body
    status, headers, _ = daemon.invoke("metered", b'{"fail": true}')
    assert status == 200 and header(headers, "X-Amz-Function-Error") == "Unhandled"
    status, _, body = daemon.invoke("metered", b"{}", headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202, body

    status, _, body = daemon.request("PUT", "/2017-10-31/functions/limited/concurrency",
                                     {"ReservedConcurrentExecutions": 0})
    assert status == 200, body
    status, _, body = daemon.invoke("limited", b"{}")
    assert status == 429, body

    # The async event runs after its 202: wait for its count.
    key = dict(function="metered", version="$LATEST")
    assert wait_until(lambda: value(scrape(daemon), "lambent_invocations_total", source="event", **key) == 1)
    text = scrape(daemon)
    promtool_check(text)

    assert value(text, "lambent_invocations_total", source="invoke", **key) == 4
    assert value(text, "lambent_invocations_total", source="event", **key) == 1
    assert value(text, "lambent_errors_total", type="ValueError", **key) == 1
    assert sum(v for (name, _), v in samples(text).items() if name == "lambent_errors_total") == 1
    assert value(text, "lambent_throttles_total", function="limited", version="$LATEST",
                 reason="ReservedFunctionConcurrentInvocationLimitExceeded") == 1
    assert value(text, "lambent_duration_seconds_count", **key) == 5
    assert value(text, "lambent_duration_seconds_bucket", le="+Inf", **key) == 5
    cold = value(text, "lambent_cold_starts_total", **key)
    assert 1 <= cold <= 2  # the async event may have found the environment busy
    assert value(text, "lambent_init_duration_seconds_count", **key) == cold
    # Nothing runs now; the warm environment waits.
    assert value(text, "lambent_concurrent_executions", **key) == 0
    assert value(text, "lambent_account_concurrent_executions") == 0
    assert value(text, "lambent_environments", state="idle", **key) >= 1
    # The function's async queue is known, and empty once its event ran.
    assert ("lambent_async_queue_depth", frozenset({("function", "metered")})) in samples(text)
    assert wait_until(lambda: value(scrape(daemon), "lambent_async_queue_depth", function="metered") == 0)
    # The CloudWatch counterpart is named beside each metric.
    assert "# HELP lambent_invocations_total" in text and "(CloudWatch: Invocations)" in text
    assert "(CloudWatch: Throttles)" in text and "(CloudWatch: Duration" in text

    # A function URL's Host wins: its /metrics is the function's.
    status, _, body = daemon.request("POST", "/2021-10-31/functions/metered/url", {"AuthType": "NONE"})
    assert status == 201, body
    host = urllib.parse.urlparse(json.loads(body)["FunctionUrl"]).hostname
    status, _, body = daemon.request("GET", "/metrics", headers={"Host": host})
    assert (status, json.loads(body)) == (200, {"ok": True})
