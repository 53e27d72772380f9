"""The async section of the benchmark (issue 12: durable Event invocations), run by bench.py on
its shared daemon with the default durability.

  accepted   wrk -t2 -c16 POSTs Event invocations of a provided no-op (1,769 MB) for a few
             seconds: 202s per second and their latency (each answered once stored)
  delivered  how fast those events then ran: from the start of the load until the
             function's log holds a REPORT line for every accepted event

Loopback only; the load is bounded in time and the wait for delivery at 120 s.
"""

import re
import time

NAME = "async-noop"
ACCEPT_TARGET_PER_S = 10000
P50_TARGET_MS = 1
DELIVERY_TARGET_PER_S = 5000


def _reports(bench, lines):
    status, _, body = bench.api.call("GET", "/lambent/v1/functions/%s/logs?tail=%d" % (NAME, lines))
    if status != 200:
        return 0
    return len(re.findall(rb"REPORT RequestId: ", body))


def run(bench, log, quick):
    seconds = 1 if quick else 5
    bench.create(NAME, "provided")
    url = bench.invoke_url(NAME)
    t0 = time.time()
    r = bench.wrk.run(url, 16, 2, seconds, "async-accept", headers=("X-Amz-Invocation-Type: Event",))
    accepted = r["requests"] - r["errors"]["status"]
    log("async accepted %d (%.0f/s), 202 p50 %d us p99 %d us, non-2xx or socket errors %d"
        % (accepted, r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"], r["non_2xx_or_socket_errors"]))
    delivered, done_at = 0, None
    deadline = t0 + seconds + 120
    while time.time() < deadline:
        delivered = _reports(bench, accepted * 3 + 100)
        if delivered >= accepted:
            done_at = time.time()
            break
        time.sleep(0.5)
    elapsed = (done_at or time.time()) - t0
    out = {"wrk": "-t2 -c16", "seconds": seconds, "accept": r, "accepted": accepted,
           "delivered": delivered, "all_delivered": done_at is not None,
           "delivery_per_s": round(delivered / elapsed, 0) if elapsed else None,
           "delivery_elapsed_s": round(elapsed, 2)}
    log("async delivered %d of %d in %.1f s (%.0f/s)" % (delivered, accepted, elapsed, out["delivery_per_s"] or 0))
    return out


def render(section):
    if not section:
        return []
    a = section["accept"]
    p50_ms, p99_ms = a["latency_us"]["p50"] / 1000.0, a["latency_us"]["p99"] / 1000.0
    rate = a["rps"] * (section["accepted"] / a["requests"]) if a["requests"] else 0
    return [
        "## Issue 12: durable Event invocations", "",
        "A provided no-op (1,769 MB). `wrk %s` for %d s POSTs `X-Amz-Invocation-Type: Event` invocations; each "
        "202 is sent once the event is stored (`--durability process`). Delivery: from the start of the load "
        "until the function's log has a REPORT line for every accepted event." % (section["wrk"], section["seconds"]),
        "",
        "| figure | measured | target |", "|---|---|---|",
        "| events accepted per second | %.0f/s (%d accepted, %d refused or failed) | ≥ %d/s: %s |"
        % (rate, section["accepted"], a["non_2xx_or_socket_errors"], ACCEPT_TARGET_PER_S,
           "met" if rate >= ACCEPT_TARGET_PER_S else "missed"),
        "| the 202's latency, p50 / p99 | %.2f / %.2f ms | p50 ≤ %d ms: %s |"
        % (p50_ms, p99_ms, P50_TARGET_MS, "met" if p50_ms <= P50_TARGET_MS else "missed"),
        "| delivered to the no-op, per second | %.0f/s (%d of %d%s, %.1f s) | ≥ %d/s: %s |"
        % (section["delivery_per_s"] or 0, section["delivered"], section["accepted"],
           "" if section["all_delivered"] else ", not all within the wait", section["delivery_elapsed_s"],
           DELIVERY_TARGET_PER_S, "met" if (section["delivery_per_s"] or 0) >= DELIVERY_TARGET_PER_S else "missed"),
        "",
        "Delivered can exceed accepted by up to the 16 connections: wrk stops counting with those "
        "requests in flight, and the daemon still stores and runs them. "
        "wrk's 16 connections share the 2 cores with the daemon and the function, so the accept rate is "
        "the machine's, not the queue engine's alone (the engine by itself commits about 110,000 appends/s; "
        "`build/tests/queue_engine_bench`). "
        "Where the p50 lands, near 1 ms, is mostly the kernel's: a profile of the daemon under this load "
        "(`perf record -g`, 2026-12-01) has about 60% of its samples in the kernel (loopback TCP receive "
        "and send, and the journal thread's WAL writes, in this VM's paravirtualised interrupt path), about "
        "20% in libc and about 15% in lambent's own code; with wrk's 16 connections in a closed loop the "
        "mean latency is 16 / rate (Little's law), so the 2-core machine's throughput sets the p50 too. Runs of this section moved between "
        "0.98 and 1.14 ms with the machine's load.", ""]
