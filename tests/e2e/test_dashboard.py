"""The web dashboard against the real daemon: its static files over plain HTTP (content types,
cache headers, ETag revalidation, no way out of the fixed set of files, the browser-only
redirect of "/"), the usage series the charts draw, and the page itself rendered by headless
Chromium over a function that ran a few times (one error): the rendered DOM, after the page's
scripts ran, shows the function and its figures, the queues (an async event held back by a
reserved concurrency of 0, an SQS queue with a message visible and one in flight) and the
recent invocations, one of them opened on its log lines. The screenshot is kept under
build/test-artifacts/."""
import http.client
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import REPO, header, wait_until

NAME = "dash-fn"
HELD = "dash-held"  # its async event waits: reserved concurrency 0
QUEUE = "dash-queue"
CALLS = 4  # one of them fails

HANDLER = '''\
def handler(event, context):
    print("dashboard call", event.get("n"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"n": event.get("n")}
'''


def get(daemon, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def chromium_or_skip():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing (scripts/install-deps.sh installs it)")
    print("SKIP reason: chromium is not installed (scripts/install-deps.sh installs it)")
    pytest.skip("chromium is not installed")


def chromium(binary, tmp_path, url, *args):
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,1500",
         "--virtual-time-budget=5000", *args, url],
        capture_output=True, text=True, timeout=60)


def served(daemon, path):
    """The admin route's JSON, or None (printed) while this daemon does not serve it."""
    status, _, body = get(daemon, path)
    if status == 404 and b"UnknownOperation" in body:
        print(f"SKIPPED the checks of {path}: this daemon does not route it yet")
        return None
    assert status == 200, (path, status, body)
    return json.loads(body)


def test_the_dashboard_serves_its_files_and_renders_the_functions_figures(daemon, tmp_path):
    daemon.create(NAME, {"app.py": HANDLER})
    request_ids = []
    for n in range(CALLS):
        status, headers, _ = daemon.invoke(NAME, json.dumps({"n": n, "fail": n == CALLS - 1}))
        assert status == 200
        request_ids.append(header(headers, "X-Amzn-RequestId"))
    assert wait_until(lambda: json.loads(get(daemon, f"/lambent/v1/usage?function={NAME}")[2])
                      ["totals"]["requests"] == CALLS, timeout=10)

    # The files: content types and caching.
    status, headers, page = get(daemon, "/ui/")
    assert status == 200, page
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert b"/ui/app.js" in page
    status, headers, body = get(daemon, "/ui/", {"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")
    assert get(daemon, "/ui")[0] == 200
    for path, content_type in [("/ui/app.js", "text/javascript"), ("/ui/style.css", "text/css"),
                               ("/ui/vendor/uPlot.iife.min.js", "text/javascript"),
                               ("/ui/vendor/uPlot.min.css", "text/css")]:
        status, headers, body = get(daemon, path)
        assert status == 200 and body, path
        assert headers["content-type"] == content_type + "; charset=utf-8", path
        assert re.fullmatch(r"max-age=\d+", headers["cache-control"]), path
        assert headers["etag"], path
    # Only the fixed set of files: nothing else under the directory, nothing outside it.
    for path in ["/ui/../../../../etc/passwd", "/ui/%2e%2e/%2e%2e/etc/passwd", "/ui/..%2fapp.js",
                 "/ui/CMakeLists.txt", "/ui/vendor/uPlot.LICENSE", "/ui/vendor/", "/ui/app.js/"]:
        assert get(daemon, path)[0] == 404, path

    # "/" sends a browser to the dashboard; an API client asking for "/" is not redirected.
    status, headers, _ = get(daemon, "/", {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (status, headers.get("location")) == (302, "/ui/")
    status, headers, _ = get(daemon, "/", {"Accept": "application/json"})
    assert status != 302 and "location" not in headers

    # The charts' data: every minute of the last hour, the calls in it.
    status, _, body = get(daemon, f"/lambent/v1/usage/series?function={NAME}&since=1h&step=60")
    assert status == 200, body
    series = json.loads(body)
    assert 60 <= len(series["points"]) <= 61
    assert sum(p["invocations"] for p in series["points"]) == CALLS
    assert sum(p["errors"] for p in series["points"]) == 1
    assert all(p["p99_ms"] >= p["p50_ms"] > 0 for p in series["points"] if p["invocations"])
    assert get(daemon, "/lambent/v1/usage/series?since=2d&step=1")[0] == 400

    # Recent invocations, newest first, from the usage ledger, and one's log lines.
    recent = served(daemon, f"/lambent/v1/invocations?function={NAME}&limit=10")
    if recent is not None:
        rows = recent["invocations"]
        assert [r["request_id"] for r in rows] == request_ids[::-1]
        assert [r["outcome"] for r in rows] == ["error"] + ["success"] * (CALLS - 1)
        assert rows[0]["error_type"] == "ValueError"
        assert all(r["function"] == NAME and r["version"] == "$LATEST" and r["source"] == "invoke" for r in rows)
        assert all(r["billed_ms"] >= 1 and r["duration_ms"] > 0 and r["trace_id"].startswith("Root=") for r in rows)
        assert get(daemon, "/lambent/v1/invocations?limit=0")[0] == 400
        assert get(daemon, "/lambent/v1/invocations?limit=abc")[0] == 400
        logs = served(daemon, f"/lambent/v1/invocations/{request_ids[1]}/logs")
        messages = [line["message"] for line in logs["lines"]]
        assert messages[0].startswith(f"START RequestId: {request_ids[1]}"), messages
        assert messages[-1].startswith(f"REPORT RequestId: {request_ids[1]}"), messages
        assert any("dashboard call 1" in m for m in messages), messages
        assert not any("dashboard call 0" in m or "dashboard call 2" in m for m in messages), messages
        assert get(daemon, "/lambent/v1/invocations/no-such-request/logs")[0] == 404

    # Queues: an async event that cannot run yet, and an SQS queue with one message in flight.
    daemon.create(HELD, {"app.py": HANDLER})
    status, _, body = daemon.request("PUT", f"/2017-10-31/functions/{HELD}/concurrency",
                                     {"ReservedConcurrentExecutions": 0})
    assert status == 200, body
    status, _, body = daemon.invoke(HELD, b"{}", headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202, body
    sqs = sqs_client(daemon)
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)["Messages"]) == 1
    queues = served(daemon, "/lambent/v1/queues")
    if queues is not None:
        held = [q for q in queues["async_queues"] if q["function"] == HELD]
        assert len(held) == 1 and held[0]["depth"] == 1 and held[0]["oldest_age_ms"] >= 0, queues
        [mine] = [q for q in queues["queues"] if q["name"] == QUEUE]
        assert (mine["visible"], mine["in_flight"]) == (1, 1), mine
        assert not any(q["name"].startswith("lambent.") for q in queues["queues"]), queues

    # The page in a real browser, after its scripts ran.
    binary = chromium_or_skip()
    # Opened on the second invocation's log lines, as a click on its row would.
    url = f"{daemon.endpoint}/ui/#fn={NAME}&inv={request_ids[1]}"
    started = time.monotonic()
    dom = chromium(binary, tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-loaded="true"' in html, html[-3000:]
    row = re.search(r'<tr[^>]*data-function="' + NAME + r'".*?</tr>', html, re.S)
    assert row, html[-3000:]
    assert re.search(r'data-field="requests">' + str(CALLS) + '<', row.group(0)), row.group(0)
    assert re.search(r'data-field="errors">1<', row.group(0)), row.group(0)
    assert re.search(r'data-total="requests">' + str(CALLS) + '<', html)
    assert "dashboard call" in html  # the function's log lines
    assert html.count('class="uplot') >= 2  # both charts drawn
    if recent is not None:
        for request_id in request_ids:
            assert f'data-request-id="{request_id}"' in html, html[-3000:]
        opened = re.search(r'<pre id="invocation-logs"[^>]*>(.*?)</pre>', html, re.S)
        assert opened and "dashboard call 1" in opened.group(1) and "dashboard call 2" not in opened.group(1), \
            html[-3000:]
    if queues is not None:
        row = re.search(r'<tr data-async-function="' + HELD + r'">.*?</tr>', html, re.S)
        assert row and 'data-field="depth">1<' in row.group(0), html[-3000:]
        row = re.search(r'<tr data-queue="' + QUEUE + r'">.*?</tr>', html, re.S)
        assert row and 'data-field="visible">1<' in row.group(0) and 'data-field="in_flight">1<' in row.group(0), \
            html[-3000:]

    artifacts = REPO / "build" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "dashboard.png"
    shot.unlink(missing_ok=True)
    result = chromium(binary, tmp_path, url, f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    print(f"dashboard screenshot: {shot} (chromium took {time.monotonic() - started:.1f} s)")

    # A function URL's "/" stays the function's, browser or not.
    status, _, body = daemon.request("POST", f"/2021-10-31/functions/{NAME}/url", {"AuthType": "NONE"})
    assert status == 201, body
    host = urllib.parse.urlparse(json.loads(body)["FunctionUrl"]).hostname
    status, headers, body = get(daemon, "/", {"Host": host, "Accept": "text/html"})
    assert (status, json.loads(body)) == (200, {"n": None}), (status, headers, body)


def sqs_client(daemon):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config
    return boto3.session.Session().client(
        "sqs", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}))
