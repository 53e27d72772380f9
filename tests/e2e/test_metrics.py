"""GET /metrics against the real daemon: after successes, a function error, a throttle
(reserved concurrency 0) and an async event, the scrape passes `promtool check metrics`
(Debian's prometheus package) and every counter has moved by what was done. Then the event
plane: an async event that fails for good with no retries left, whose dead-letter queue and
OnFailure destination were deleted, moves AsyncEventsDropped, DeadLetterErrors and
DestinationDeliveryFailures by one each. The registry's buckets and label caps are
unit-tested (src/metrics/metrics_registry_test.cc)."""
import json
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from conftest import header, wait_until

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:"

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

    # The event plane. The async event above was received, and ran.
    assert value(text, "lambent_async_events_received_total", **key) == 1
    assert "(CloudWatch: AsyncEventsReceived)" in text
    # A function that fails, with no retries, whose DLQ and failure destination are gone.
    sqs = sqs_client(daemon)
    for queue in ("gone-dlq", "gone-failures"):
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        sqs.delete_queue(QueueUrl=url)
    daemon.create("doomed", {"app.py": HANDLER}, DeadLetterConfig={"TargetArn": QUEUE_ARN + "gone-dlq"})
    status, _, body = daemon.request("PUT", "/2019-09-25/functions/doomed/event-invoke-config", {
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN + "gone-failures"}}})
    assert status == 200, body
    status, _, body = daemon.invoke("doomed", b'{"fail": true}', headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202, body
    doomed = dict(function="doomed", version="$LATEST")
    assert wait_until(lambda: value(scrape(daemon), "lambent_destination_delivery_failures_total", **doomed) == 1,
                      timeout=20), daemon.log()[-3000:]
    text = scrape(daemon)
    promtool_check(text)
    assert value(text, "lambent_async_events_received_total", **doomed) == 1
    assert value(text, "lambent_async_events_dropped_total", reason="retries_exhausted", **doomed) == 1
    assert value(text, "lambent_dead_letter_errors_total", **doomed) == 1
    assert value(text, "lambent_destination_delivery_failures_total", **doomed) == 1
    assert value(text, "lambent_invocations_total", source="event", **doomed) == 1
    assert "(CloudWatch: AsyncEventsDropped)" in text and "(CloudWatch: DeadLetterErrors)" in text
    assert "(CloudWatch: DestinationDeliveryFailures)" in text
    assert "IteratorAge" in text  # said not to apply: mappings read SQS queues, not streams
    # Nothing else moved: the first function's event succeeded, nobody else was sent any.
    for name in ("lambent_async_events_dropped_total", "lambent_dead_letter_errors_total",
                 "lambent_destination_delivery_failures_total"):
        assert sum(v for (n, _), v in samples(text).items() if n == name) == 1, name
    assert sum(v for (n, _), v in samples(text).items() if n == "lambent_async_events_received_total") == 2


def sqs_client(daemon):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config
    return boto3.session.Session().client(
        "sqs", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}))
