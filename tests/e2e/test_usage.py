"""The usage ledger against the real daemon: 1,000 invocations of known durations (0 to 6 ms)
through Invoke (over keep-alive connections, so that the file stays fast), a function URL,
async events and a provisioned version, and a throttle; `lambent usage --json`
and GET /lambent/v1/usage then agree with the function's REPORT lines to the millisecond,
GB-seconds are billed ms x memory / 1024 / 1000, the cost follows the price table (here
overridden by <data-dir>/prices.json), and all of it survives a restart, invocations answered
just before the stop included. Batching, aggregation and the billing arithmetic are
unit-tested beside the code (src/metering/*_test.cc)."""
import http.client
import json
import math
import re
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import wait_until

MEMORY_MB = 256
URL_CALLS = 5
ASYNC_CALLS = 5
PROVISIONED_CALLS = 3
SYNC_CALLS = 1000 - URL_CALLS - ASYNC_CALLS - PROVISIONED_CALLS  # 1,000 in all
CLIENTS = 4
PRICES = {"requests_per_million": 0.25, "duration_gb_second": 0.00002}  # the rest: defaults
DEFAULTS = {"provisioned_concurrency_gb_second": 0.0000041667, "provisioned_duration_gb_second": 0.0000097222}

HANDLER = '''\
import json
import time

def handler(event, context):
    if "body" in event:  # a function URL's request
        event = json.loads(event["body"] or "{}")
    time.sleep(event.get("ms", 0) / 1000)
    return {"slept": event.get("ms", 0)}
'''

START = re.compile(r"START RequestId: (\S+) Version: (\S+)")
REPORT = re.compile(r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\t"
                    r"Memory Size: (\d+) MB\tMax Memory Used: \d+ MB(?:\tInit Duration: ([\d.]+) ms)?")


def reports(daemon, name):
    """{request id: (version, duration, billed ms, memory MB, init ms or None)} from the log."""
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs")
    assert status == 200, body
    text = body.decode(errors="replace")
    versions = dict(START.findall(text))
    out = {}
    for request_id, duration, billed, memory, init in REPORT.findall(text):
        out[request_id] = (versions[request_id], float(duration), int(billed), int(memory),
                           float(init) if init else None)
    return out


def usage(daemon, **query):
    status, _, body = daemon.request("GET", "/lambent/v1/usage?" + urllib.parse.urlencode(query))
    assert status == 200, body
    return json.loads(body)


def gb_seconds(ms):
    return ms * MEMORY_MB / 1024 / 1000


def check_against_reports(daemon, totals):
    """The ledger's totals are what the REPORT lines say."""
    lines = reports(daemon, "metered")
    on_demand = [r for r in lines.values() if r[0] == "$LATEST"]
    provisioned = [r for r in lines.values() if r[0] != "$LATEST"]
    assert totals["requests"] == len(lines)
    # A cold start's REPORT bills its init with its invoke phase, rounded up together (Lambda's
    # rule since August 2025): the ledger keeps the two parts apart, and they add up exactly.
    assert totals["billed_ms"] + totals["init_billed_ms"] == sum(r[2] for r in lines.values())
    assert {r[3] for r in lines.values()} == {MEMORY_MB}
    # The log shows durations to 0.01 ms, so each cold start's init part may differ by 1 ms.
    colds = [r for r in on_demand if r[4] is not None]
    expected_init = sum(r[2] - max(1, math.ceil(r[1])) for r in colds)
    assert colds and abs(totals["init_billed_ms"] - expected_init) <= len(colds), (totals, expected_init)
    on_demand_ms = sum(r[2] for r in on_demand)
    provisioned_ms = sum(r[2] for r in provisioned)
    assert totals["mb_ms"]["on_demand"] == on_demand_ms * MEMORY_MB
    assert totals["mb_ms"]["provisioned"] == provisioned_ms * MEMORY_MB
    assert totals["on_demand_gb_seconds"] == pytest.approx(gb_seconds(on_demand_ms), rel=1e-12)
    assert totals["provisioned_gb_seconds"] == pytest.approx(gb_seconds(provisioned_ms), rel=1e-12)
    assert totals["gb_seconds"] == pytest.approx(
        gb_seconds(totals["billed_ms"] + totals["init_billed_ms"]), rel=1e-12)
    cost = totals["cost"]
    assert cost["requests"] == pytest.approx(len(lines) * PRICES["requests_per_million"] / 1e6, rel=1e-9)
    assert cost["duration"] == pytest.approx(gb_seconds(on_demand_ms) * PRICES["duration_gb_second"], rel=1e-9)
    assert cost["provisioned_duration"] == pytest.approx(
        gb_seconds(provisioned_ms) * DEFAULTS["provisioned_duration_gb_second"], rel=1e-9)
    assert cost["provisioned_concurrency"] == pytest.approx(
        totals["provisioned_concurrency_gb_seconds"] * DEFAULTS["provisioned_concurrency_gb_second"], rel=1e-9)
    assert cost["total"] == pytest.approx(cost["requests"] + cost["duration"] + cost["provisioned_duration"]
                                          + cost["provisioned_concurrency"], rel=1e-9)
    return lines


class KeepAliveInvoker:
    """Invoke calls over one persistent connection per thread: a new TCP connection (and
    urllib's per-request setup) per call would cost more than the calls themselves."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.local = threading.local()

    def __call__(self, name, payload):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=60)
        conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=payload)
        response = conn.getresponse()
        response.read()
        return response.status


def url_call(daemon, function_url, ms):
    host = urllib.parse.urlparse(function_url).hostname
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    conn.request("POST", "/", body=json.dumps({"ms": ms}), headers={"Host": host})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_usage_totals_match_the_report_lines_and_survive_a_restart(make_daemon, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "prices.json").write_text(json.dumps(PRICES))
    started = time.monotonic()
    daemon = make_daemon(data_dir=data_dir).start()
    daemon.create("metered", {"app.py": HANDLER}, MemorySize=MEMORY_MB)
    daemon.create("limited", {"app.py": HANDLER})

    # A provisioned version first: its environment gets ready while the rest runs.
    status, _, body = daemon.request("POST", "/2015-03-31/functions/metered/versions", {})
    assert status == 201, body
    status, _, body = daemon.request("PUT", "/2019-09-30/functions/metered/provisioned-concurrency?Qualifier=1",
                                     {"ProvisionedConcurrentExecutions": 1})
    assert status == 202, body
    status, _, body = daemon.request("POST", "/2021-10-31/functions/metered/url", {"AuthType": "NONE"})
    assert status == 201, body
    function_url = json.loads(body)["FunctionUrl"]

    invoke = KeepAliveInvoker(daemon)
    calls_started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(lambda i: invoke("metered", json.dumps({"ms": i % 7})), range(SYNC_CALLS)))
    print(f"{SYNC_CALLS} sync calls over {CLIENTS} keep-alive connections: {time.monotonic() - calls_started:.1f} s")
    assert statuses == [200] * SYNC_CALLS
    assert [url_call(daemon, function_url, 3) for _ in range(URL_CALLS)] == [200] * URL_CALLS
    for _ in range(ASYNC_CALLS):
        status, _, body = daemon.invoke("metered", b'{"ms": 2}', headers={"X-Amz-Invocation-Type": "Event"})
        assert status == 202, body
    status, _, body = daemon.request("PUT", "/2017-10-31/functions/limited/concurrency",
                                     {"ReservedConcurrentExecutions": 0})
    assert status == 200, body
    assert daemon.invoke("limited")[0] == 429

    def ready():
        status, _, body = daemon.request("GET", "/2019-09-30/functions/metered/provisioned-concurrency?Qualifier=1")
        return status == 200 and json.loads(body)["Status"] == "READY"
    assert wait_until(ready, timeout=30)
    for _ in range(PROVISIONED_CALLS):
        assert daemon.invoke("metered", b'{"ms": 4}', qualifier="1")[0] == 200

    expected = SYNC_CALLS + URL_CALLS + ASYNC_CALLS + PROVISIONED_CALLS
    # Async events run after their 202, and REPORT lines reach the log a moment later; the
    # provisioned environment's time is sampled every 10 s.
    assert wait_until(lambda: usage(daemon)["totals"]["requests"] == expected, timeout=20)
    assert wait_until(lambda: len(reports(daemon, "metered")) == expected, timeout=10)
    assert wait_until(lambda: usage(daemon)["totals"]["provisioned_concurrency_gb_seconds"] > 0, timeout=15)

    before = usage(daemon, by="version")
    totals = before["totals"]
    assert before["prices"] == {**PRICES, **DEFAULTS, "currency": "USD"}
    lines = check_against_reports(daemon, totals)
    assert len(lines) == expected
    print(f"usage: {totals['requests']} requests = {len(lines)} REPORT lines, billed {totals['billed_ms']} ms "
          f"(+{totals['init_billed_ms']} ms init, {totals['cold_starts']} cold starts), "
          f"{totals['gb_seconds']:.6f} GB-s, provisioned concurrency "
          f"{totals['provisioned_concurrency_gb_seconds']:.3f} GB-s, cost ${totals['cost']['total']:.8f}")
    assert totals["errors"] == 0 and totals["throttles"] == 1
    rows = {(r["function"], r["version"]): r for r in before["rows"]}
    assert set(rows) == {("metered", "$LATEST"), ("metered", "1"), ("limited", "$LATEST")}
    assert rows[("metered", "1")]["requests"] == PROVISIONED_CALLS
    assert rows[("metered", "1")]["init_billed_ms"] == 0  # a provisioned init is not billed per call
    assert rows[("metered", "1")]["provisioned_concurrency_gb_seconds"] > 0
    assert rows[("metered", "$LATEST")]["provisioned_gb_seconds"] == 0
    assert rows[("limited", "$LATEST")]["throttles"] == 1 and rows[("limited", "$LATEST")]["requests"] == 0
    # One environment of 256 MB, ready for at most the time the daemon has run.
    assert totals["provisioned_concurrency_gb_seconds"] <= 0.25 * (time.monotonic() - started + 1)

    # The same figures through the CLI, and over a function, a day and a time range.
    proc = daemon.cli("usage", "--json", "--by", "total", check=True)
    cli_totals = json.loads(proc.stdout)["totals"]
    assert {k: v for k, v in cli_totals.items() if "provisioned_concurrency" not in k and k != "cost"} == \
        {k: v for k, v in totals.items() if "provisioned_concurrency" not in k and k != "cost"}
    table = daemon.cli("usage", "--by", "version", check=True).stdout
    assert re.search(rf"^metered:\$LATEST\s+{SYNC_CALLS + URL_CALLS + ASYNC_CALLS}\s+0\s+0\s", table, re.M), table
    assert re.search(r"^TOTAL\s+%d\s+0\s+1\s" % expected, table, re.M), table
    assert usage(daemon, function="limited")["totals"]["requests"] == 0
    assert usage(daemon, function="metered:1")["totals"]["requests"] == PROVISIONED_CALLS
    assert len(usage(daemon, by="day")["rows"]) == 1
    assert usage(daemon, since="1h")["totals"]["requests"] == expected
    assert usage(daemon, until="2000-01-01")["totals"]["requests"] == 0
    status, _, body = daemon.request("GET", "/lambent/v1/usage?since=yesterday")
    assert status == 400 and b"not a time" in body
    status, _, body = daemon.request("GET", "/lambent/v1/usage?by=hour")
    assert status == 400

    # Answered right before a clean stop: still in the ledger after the restart.
    for _ in range(3):
        assert daemon.invoke("metered", b'{"ms": 1}')[0] == 200
    daemon.stop()
    daemon.start()
    after = usage(daemon)["totals"]
    assert after["requests"] == expected + 3
    lines = check_against_reports(daemon, after)
    assert len(lines) == expected + 3
    assert after["throttles"] == 1
    assert after["provisioned_concurrency_gb_seconds"] >= totals["provisioned_concurrency_gb_seconds"]
