"""The scale section of the benchmark (issue 10: fast under bursts and crowds), run by bench.py.

One fresh daemon (default options) for rows 1-5, one with --prestart 0 for row 6:

  probe      a warm invoke's latency while cold starts run beside it: a second process invokes
             a warm provided no-op every 2 ms on its own keep-alive connection, first alone,
             then while the driver cold-starts distinct provided functions one after another
  small      a 128 MB python no-op (a quarter of a CPU), wrk -t1 -c1 closed loop, p99
  crowd      throughput of one function at c1, c8, c16, c32, c64 per runtime (wrk, closed loop);
             c64 against the best level
  burst      100 concurrent first calls of a 100 ms handler with no environment of that
             function (the daemon's default prestart on): time until all 100 answered
  functions  one call each to 200 distinct python functions at once: time until all answered,
             and the median answer
  on_demand  python and node cold starts with no prestarted environment (--prestart 0)
             against the bare interpreter's start, measured in the same run

Every load is bounded in count and time; loopback only.
"""

import json
import multiprocessing
import os
import re
import socket
import statistics
import time

from isolation import _summary  # one summary shape for every bench section

LEVELS = (1, 8, 16, 32, 64)
PROBE_INTERVAL_S = 0.002




def cpu_busy(seconds=0.5):
    """Share of all cores busy over `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v[:8]), v[3] + (v[4] if len(v) > 4 else 0)
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return round(1.0 - (i1 - i0) / float(max(1, t1 - t0)), 3)


def quiet(limit=0.25, timeout=8.0):
    """Waits (at most `timeout` s) until the cores are less than `limit` busy: environments just
    retired are still being torn down (kernel work: namespaces, cgroups, loop devices) for a
    while after the daemon has forgotten them. Returns (waited s, busy share at the end)."""
    t0 = time.time()
    busy = cpu_busy(0.3)
    while busy >= limit and time.time() - t0 < timeout:
        busy = cpu_busy(0.3)
    return round(time.time() - t0, 1), busy


def tmpfs_fallbacks(b, tag):
    """Environments of the section's daemon that found no ready /tmp image (the daemon logs the
    1st, 2nd, 4th... miss, so this is a lower bound between powers of two)."""
    try:
        with open(os.path.join(b.logs, "daemon-%s.log" % tag), errors="replace") as f:
            found = re.findall(r"got a tmpfs /tmp \((\d+) so far\)", f.read())
    except OSError:
        return None
    return max([int(x) for x in found] or [0])


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


# -- 1. warm latency beside cold starts ----------------------------------------------------------

def _probe_loop(port, path, stop, conn_out):
    """In its own process (no GIL shared with the driver): one invoke every PROBE_INTERVAL_S on
    one keep-alive connection, (start, latency s) pairs on the monotonic clock the driver uses
    too. A raw socket and a prebuilt request: the client's own share of each figure stays small."""
    req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
           "Content-Length: 2\r\n\r\n{}" % (path, port)).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    spans = []
    next_at = time.perf_counter()
    while not stop.is_set():
        now = time.perf_counter()
        if now < next_at:
            time.sleep(next_at - now)
        t0 = time.perf_counter()
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("the daemon closed the probe's connection")
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", data[:head_end])
                if len(data) - head_end - 4 >= (int(m.group(1)) if m else 0):
                    break
        t1 = time.perf_counter()
        if not data.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("probe invoke: %r" % data[:100])
        spans.append((t0, t1 - t0))
        next_at = max(next_at + PROBE_INTERVAL_S, t1)  # no backlog after a stall
    s.close()
    conn_out.send(spans)
    conn_out.close()


def probe(b, log, quick):
    n = 20 if quick else 100
    calm_s = 1.0 if quick else 2.0
    warm = b.create("probe-warm", "provided")
    b.invoke(warm)
    names = [b.create("probe-cold-%03d" % i, "provided") for i in range(n)]
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    rx, tx = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_probe_loop,
                    args=(b.port, "/2015-03-31/functions/%s/invocations" % warm, stop, tx))
    p.start()
    tx.close()
    cold_ms, failures = [], 0
    try:
        time.sleep(calm_s + 0.2)
        a0 = time.perf_counter()
        for name in names:
            status, _, _, ms = b.invoke(name)
            cold_ms.append(ms)
            failures += status != 200
        a1 = time.perf_counter()
        time.sleep(0.05)
    finally:
        stop.set()
        spans = rx.recv() if rx.poll(30) else []
        p.join(10)
    calm = [d * 1000.0 for t, d in spans if t + d <= a0 and t >= spans[0][0] + 0.2] if spans else []
    during = [d * 1000.0 for t, d in spans if t + d > a0 and t < a1]
    out = {"cold_starts": n, "cold_start_failures": failures, "probe_interval_ms": PROBE_INTERVAL_S * 1000,
           "cold_starts_ms": _summary(cold_ms), "cold_starts_span_s": round(a1 - a0, 2),
           "calm_ms": _summary(calm), "during_ms": _summary(during)}
    log("scale probe: warm p99 %.3f ms alone, %.3f ms beside %d cold starts (%d samples, cold median %.1f ms)"
        % ((out["calm_ms"] or {}).get("p99", 0), (out["during_ms"] or {}).get("p99", 0), n, len(during),
           (out["cold_starts_ms"] or {}).get("median", 0)))
    for name in names:
        b.api.call("DELETE", "/2015-03-31/functions/%s" % name)
        b.functions.pop(name, None)
    return out


# -- 2. a small function's tail ----------------------------------------------------------------

def small(b, log, quick):
    runs, seconds = (1, 2) if quick else (3, 3)
    name = b.create("small-python", "python", memory=128)
    url = b.invoke_url(name)
    b.invoke(name)
    b.warm(url, 1, 1)
    out = {"memory_mb": 128, "wrk": "-t1 -c1", "seconds": seconds, "runs": []}
    for i in range(runs):
        r = b.wrk.run(url, 1, 1, seconds, "scale-small-%d" % i)
        out["runs"].append({"p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
                            "max_us": r["latency_us"]["max"], "rps": r["rps"],
                            "errors": r["non_2xx_or_socket_errors"]})
        log("scale small: 128 MB python no-op c1 p99 %.2f ms, %d/s" % (r["latency_us"]["p99"] / 1000.0, r["rps"]))
    out["p99_ms_median"] = _median([x["p99_us"] / 1000.0 for x in out["runs"]])
    out["p99_ms_range"] = [min(x["p99_us"] for x in out["runs"]) / 1000.0,
                           max(x["p99_us"] for x in out["runs"]) / 1000.0]
    b.retire(name, "small-done")
    return out


# -- 3. throughput under a crowd of callers ------------------------------------------------------

def crowd(b, log, quick):
    seconds = 1 if quick else 2
    out = {"levels": list(LEVELS), "seconds": seconds,
           "wrk_threads": dict((str(c), b.wrk_threads(c)) for c in LEVELS), "rows": {}}
    for key in ("provided", "python", "node"):
        name = b.create("crowd-" + key, key)
        url = b.invoke_url(name)
        row = {}
        for c in LEVELS:
            t = b.wrk_threads(c)
            # Steady state: 64 interpreters starting take seconds of CPU on 2 cores, so warm up
            # until the daemon stops adding environments (at most 4 s).
            warmups, envs = 0, b.environments()
            while warmups < 4:
                b.warm(url, c, t)
                warmups += 1
                now = b.environments()
                if now <= envs:
                    break
                envs = now
            r = b.wrk.run(url, c, t, seconds, "scale-crowd-%s-c%d" % (key, c))
            row[str(c)] = {"rps": r["rps"], "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
                           "errors": r["non_2xx_or_socket_errors"], "warmup_s": warmups, "environments": envs}
            log("scale crowd %-8s c%-3d %8.0f/s p99 %d us" % (key, c, r["rps"], r["latency_us"]["p99"]))
        best = max(LEVELS, key=lambda c: row[str(c)]["rps"])
        row["environments"] = b.environments()
        row["best_level"] = best
        row["c64_of_best_pct"] = round(100.0 * row["64"]["rps"] / row[str(best)]["rps"], 1)
        out["rows"][key] = row
        b.retire(name, "crowd-done")
        time.sleep(0.5)
    return out


# -- 4. a burst from zero ------------------------------------------------------------------------

def _prestarted(b, runtime):
    status, _, body = b.api.call("GET", "/lambent/v1/prestarted")
    if status != 200:
        return None
    envs = json.loads(body).get("Environments", [])
    return sum(1 for e in envs if e.get("State") == "prestarted" and e.get("Runtime") == runtime)


def _settle(b, timeout=4.0):
    """After a retire: waits until the environment count stops falling (teardown done)."""
    deadline = time.time() + timeout
    last, since = b.environments(), time.time()
    while time.time() < deadline:
        time.sleep(0.1)
        now = b.environments()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= 0.3:
            break


def burst(b, log, quick):
    n, repeats = (100, 1) if quick else (100, 2)
    out = {"concurrency": n, "repeats": repeats, "rows": {}}
    for key in ("provided", "python", "node"):
        name = b.create("burst-" + key, key, "sleep100")
        runs = []
        for r in range(repeats):
            if r:
                b.retire(name, "burst-%d" % r)
            _settle(b)
            waited, busy = quiet()
            before, ready = b.environments(), _prestarted(b, b.runtime_id(key))
            done_at, statuses, missing = b.burst(name, n)
            ok = sum(1 for s in statuses if s == 200)
            runs.append({"all_returned_ms": round(max(done_at), 1) if done_at and not missing else None,
                         "first_returned_ms": round(min(done_at), 1) if done_at else None,
                         "median_returned_ms": round(statistics.median(done_at), 1) if done_at else None,
                         "ok": ok, "not_ok": len(statuses) - ok, "missing": missing,
                         "environments_created": b.environments() - before,
                         "prestarted_ready_before": ready, "never_invoked_before": r == 0,
                         "cpu_busy_before": busy, "waited_for_quiet_s": waited})
            log("scale burst %-8s #%d: all %d answered after %s ms (ok %d, envs +%d, %s prestarted ready)"
                % (key, r, n, runs[-1]["all_returned_ms"], ok, runs[-1]["environments_created"], ready))
        out["rows"][key] = {"runs": runs, "all_returned_ms_median": _median([x["all_returned_ms"] for x in runs])}
        b.retire(name, "burst-done")
    _settle(b)
    return out


# -- 5. a crowd of distinct functions ----------------------------------------------------------

def functions(b, log, quick):
    n, repeats = (40, 1) if quick else (200, 2)
    t0 = time.perf_counter()
    names = [b.create("fn-%03d" % i, "python") for i in range(n)]
    out = {"functions": n, "repeats": repeats, "runtime": "python3.11", "handler": "noop",
           "create_s": round(time.perf_counter() - t0, 1), "runs": []}
    for r in range(repeats):
        if r:
            for name in names:
                b.retire(name, "fn-%d" % r)
        _settle(b)
        waited, busy = quiet()
        before, ready = b.environments(), _prestarted(b, "python3.11")
        done_at, statuses, missing = b.burst(names, n)
        ok = sum(1 for s in statuses if s == 200)
        run = {"all_returned_ms": round(max(done_at), 1) if done_at and not missing else None,
               "median_returned_ms": round(statistics.median(done_at), 1) if done_at else None,
               "first_returned_ms": round(min(done_at), 1) if done_at else None,
               "ok": ok, "not_ok": len(statuses) - ok, "missing": missing,
               "environments_created": b.environments() - before, "prestarted_ready_before": ready,
               "cpu_busy_before": busy, "waited_for_quiet_s": waited}
        out["runs"].append(run)
        log("scale functions #%d: %d distinct python functions, all answered after %s ms, p50 %s ms (ok %d)"
            % (r, n, run["all_returned_ms"], run["median_returned_ms"], ok))
    out["all_returned_ms_median"] = _median([x["all_returned_ms"] for x in out["runs"]])
    out["median_returned_ms_median"] = _median([x["median_returned_ms"] for x in out["runs"]])
    for name in names:
        b.api.call("DELETE", "/2015-03-31/functions/%s" % name)
        b.functions.pop(name, None)
    _settle(b)
    return out


def _unbudgeted(b):
    """Options that turn the daemon's memory budget off where it has one: 100 environments of
    1769 MB are more than this machine's 80 % budget, which would make the burst and functions
    parts measure queueing for memory rather than starting."""
    return ["--memory-budget", "0"] if "--memory-budget" in b.serve_help() else []


# -- 6. cold starts on demand against the bare interpreter --------------------------------------

def on_demand(b, procs, log, quick, tag="scale"):
    n = 5 if quick else 20
    out = {"n": n, "bare": b.bare_measure(("python3 -c pass", "node -e 0"), 10 if quick else 30), "rows": {}}
    saved = b.swap_daemon()
    out["daemon_options"] = b.no_prestart_flags()
    b.start_daemon(tag + "-on-demand", out["daemon_options"])
    try:
        for key in ("python", "node"):
            out["rows"][key] = b.cold_series(key, n, 0.03, prestarted=False)
    finally:
        procs.stop(b.daemon)
        b.swap_daemon(saved)
    # A daemon with python's zygote also measures python without it, in the same run.
    if "--no-zygote" in b.serve_help():
        b.start_daemon(tag + "-on-demand-no-zygote", out["daemon_options"] + ["--no-zygote"])
        try:
            out["rows"]["python_no_zygote"] = b.cold_series("python", n, 0.03, prestarted=False)
        finally:
            procs.stop(b.daemon)
            b.swap_daemon(saved)
    for key, bare_key in (("python", "python3 -c pass"), ("node", "node -e 0"),
                          ("python_no_zygote", "python3 -c pass")):
        if key not in out["rows"]:
            continue
        c = (out["rows"][key].get("total_ms") or {}).get("median")
        bb = (out["bare"].get(bare_key) or {}).get("median")
        out["rows"][key]["over_bare_ms"] = round(c - bb, 2) if c is not None and bb is not None else None
    return out


def _method(quick):
    return {
        "probe": "a second process invokes a warm provided no-op (1769 MB) every %d ms on one keep-alive "
                 "connection (a raw socket, the request prebuilt); its latency alone (the last %s s before) and while the driver invokes "
                 "distinct, never-invoked provided functions one after another (each a cold start on "
                 "demand)" % (PROBE_INTERVAL_S * 1000, "1" if quick else "2"),
        "small": "python no-op at MemorySize 128 (a quarter of a CPU), wrk -t1 -c1 after a 1 s warm-up; "
                 "median of the runs' p99 (wrk corrects for coordinated omission)",
        "crowd": "wrk closed loop, C connections, one function (1769 MB) per runtime, after 1 s warm-ups "
                 "at the same C until the daemon stops adding environments (at most 4); c64 as a share "
                 "of the best level",
        "burst": "100 connections opened first, then one request each sent back to back (a function "
                 "sleeping 100 ms, 1769 MB); time until the last answer. Run 1: a function never invoked; "
                 "later runs: after UpdateFunctionConfiguration retired its environments. Rows 1-5 run a daemon with "
                 "its memory budget off (`--memory-budget 0`) where it has one: the 100 environments of "
                 "1769 MB a burst can want exceed the default 80 % of this machine's memory",
        "functions": "distinct python no-op functions (1769 MB), one connection each opened first, then "
                     "one request each sent back to back; time until the last answer and the median "
                     "answer. Run 1: never invoked; later runs after UpdateFunctionConfiguration of each",
        "on_demand": "a daemon with --prestart 0; UpdateFunctionConfiguration, 30 ms pause, one invoke "
                     "timed by the client (as the cold section); bare start as the bare section, in the "
                     "same run"}


def run(b, procs, log, quick, before=None):
    """The section against b's daemon binary; with `before` (the path of an older daemon binary)
    also against that one, part by part, the two taking turns (ABBA), so that whatever else the
    machine does falls on both alike. Returns (this binary's section, the before's or None)."""
    sides = [("after", b.args.lambent)] + ([("before", before)] if before else [])
    outs = dict((side, {"method": _method(quick)}) for side, _ in sides)
    tags = dict((side, "scale-" + side if before else "scale") for side, _ in sides)
    this_binary = b.args.lambent

    def turn(i):
        return sides if i % 2 == 0 else list(reversed(sides))

    def logger(side):
        return (lambda msg: log("[%s] %s" % (side, msg))) if before else log

    # On demand first, on the quietest machine: its bare starts are the yardstick. The parts that
    # leave hundreds of environments to tear down come last.
    try:
        for side, binary in turn(0):
            b.args.lambent = binary
            waited, busy = quiet()
            t = time.time()
            outs[side]["on_demand"] = on_demand(b, procs, logger(side), quick, tags[side])
            outs[side]["on_demand"].update(elapsed_s=round(time.time() - t, 1), cpu_busy_before=busy,
                                           waited_for_quiet_s=waited)
        saved = b.swap_daemon()
        daemons = {}
        try:
            for side, binary in sides:
                b.args.lambent = binary
                b.start_daemon(tags[side], _unbudgeted(b))
                daemons[side] = b.swap_daemon()
            for i, part in enumerate((probe, small, crowd, burst, functions)):
                for side, binary in turn(i + 1):
                    b.args.lambent = binary
                    b.swap_daemon(daemons[side])
                    waited, busy = quiet()
                    t = time.time()
                    outs[side][part.__name__] = part(b, logger(side), quick)
                    outs[side][part.__name__].update(
                        elapsed_s=round(time.time() - t, 1), cpu_busy_before=busy, waited_for_quiet_s=waited,
                        tmpfs_fallbacks_so_far=tmpfs_fallbacks(b, tags[side]))
                    daemons[side] = b.swap_daemon()
        finally:
            for d in daemons.values():
                procs.stop(d[0])
            b.swap_daemon(saved)
    finally:
        b.args.lambent = this_binary
    return outs["after"], outs.get("before")
