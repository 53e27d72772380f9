"""The observability section of the benchmark (issue 14: metering and observability).

  warm   what the usage ledger and the metrics cost a warm invoke: the daemon under test and one
         built from the commit before issue 14's work (bench/run.sh builds it once into
         bench-cache), both running, the same no-op functions (provided.al2023 and python3.11,
         1,769 MB) on each. wrk POSTs `{}` to the Invoke API: c1 in rounds, the two daemons back
         to back for each runtime and the order swapped every round (ABBA), so that whatever
         else the machine does falls on both alike; then c8 once each, in turns. Beside latency,
         figures the machine's other work moves less: the daemon's CPU per invoke, the io
         thread's user-space CPU per invoke (perf, when installed) and its system calls per
         invoke (strace -c, when installed).
  flood  a python function printing 100,000 lines a second (`flood` of bench/handlers/python,
         one print() a line) while wrk invokes a warm provided no-op of the same daemon at c1:
         before any flood, beside the same lines printed to /dev/null (the control), beside the
         log flood (control and flood twice, in turns), after it; the daemon's VmRSS / VmHWM
         every 0.5 s and its CPU; how many lines the function wrote, at what rate, and how many
         the daemon stored (read back through its logs API, by their numbers).

Run by bench/run.sh (`--only observability`, or a whole run): `main()` below measures, merges
the section into the results file and renders docs/benchmarks.md; `run()` is the section alone.
Loopback only; every load is bounded in time and every call by a socket timeout.
"""

import argparse
import calendar
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

LIB = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.dirname(LIB)
REPO = os.path.dirname(BENCH_DIR)

WARM_KEYS = ("provided", "python")
FLOOD_RATE = 100000
P50_TARGET_US = 5
RSS_PERIOD_S = 0.5


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _pick_median_round(rounds):
    ranked = sorted(rounds, key=lambda r: r["latency_us"]["p50"])
    return ranked[(len(ranked) - 1) // 2]


# -- warm path, before and after ------------------------------------------------------------

PERF_HZ = 4999


def _perf_start(pid, path):
    """perf record on the daemon's io thread (the main thread, whose id is the pid), or None."""
    if not shutil.which("perf"):
        return None
    try:
        return subprocess.Popen(["perf", "record", "-q", "-F", str(PERF_HZ), "-t", str(pid), "-o", path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _strace_start(pid, path):
    """strace -c on the daemon's io thread alone (no -f: the main thread), or None."""
    if not shutil.which("strace"):
        return None
    try:
        p = subprocess.Popen(["strace", "-c", "-o", path, "-p", str(pid)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    except OSError:
        return None
    time.sleep(0.5)  # attached
    return p


def _strace_calls(p, path):
    """Stops the tracing; {syscall: calls}, or None."""
    p.send_signal(signal.SIGINT)
    try:
        p.wait(20)
        with open(path) as f:
            text = f.read()
    except (subprocess.TimeoutExpired, OSError):
        p.kill()
        return None
    calls = {}
    for line in text.splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
            calls[parts[-1]] = int(parts[3])
    return calls or None


def _perf_samples(p, path):
    """Stops the recording; its samples by where they fell: {"kernel": n, "user": n}, or None."""
    p.send_signal(signal.SIGINT)
    try:
        p.wait(20)
        rep = subprocess.run(["perf", "report", "-i", path, "--sort", "dso", "-q", "--stdio", "-g", "none",
                              "-F", "sample,dso"], capture_output=True, text=True, timeout=60)
    except (subprocess.TimeoutExpired, OSError):
        p.kill()
        return None
    out = {"kernel": 0, "user": 0}
    for line in rep.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].isdigit():
            out["kernel" if parts[1].strip() == "[kernel.kallsyms]" else "user"] += int(parts[0])
    return out if out["kernel"] + out["user"] else None


def warm(b, procs, log, quick, before):
    # Many short rounds rather than a few long ones: other work on a shared machine comes in
    # bursts of seconds, and the median of many paired differences is the one they did not decide.
    rounds = 2 if quick else 6
    seconds = 1 if quick else 2
    c8_seconds = 1 if quick else 2
    sides = [("after", b.args.lambent)] + ([("before", before)] if before else [])
    out = {"rounds": rounds, "c1_seconds": seconds, "c8_seconds": c8_seconds, "memory_mb": 1769,
           "sides": [s for s, _ in sides], "rows": {}}
    this_binary = b.args.lambent
    saved = b.swap_daemon()
    daemons = {}
    try:
        for side, binary in sides:
            b.args.lambent = binary
            b.start_daemon("obs-" + side)
            for key in WARM_KEYS:
                name = b.create("obs-noop-" + key, key)
                status, _, body, _ = b.invoke(name)
                if status != 200:
                    raise RuntimeError("observability: %s no-op on the %s daemon: %d %r"
                                       % (key, side, status, body[:200]))
            daemons[side] = b.swap_daemon()

        def measure(side, key, c, secs, tag, warmup=True):
            b.swap_daemon(daemons[side])
            try:
                url = b.invoke_url("obs-noop-" + key)
                threads = b.wrk_threads(c)
                if warmup:
                    b.wrk.run(url, c, threads, 1, "warmup-" + tag)
                cpu0 = _cpu_s(b.daemon.pid)
                r = b.wrk.run(url, c, threads, secs, tag)
                cpu1 = _cpu_s(b.daemon.pid)
                if cpu0 is not None and cpu1 is not None and r["requests"]:
                    # The daemon's CPU per invocation, all its threads (ledger and log writers included):
                    # a figure that other work on the machine moves far less than latency.
                    r["daemon_cpu_us_per_invoke"] = round((cpu1 - cpu0) * 1e6 / r["requests"], 1)
                return r
            finally:
                daemons[side] = b.swap_daemon()

        for i in range(rounds):
            order = sides if i % 2 == 0 else list(reversed(sides))
            for key in WARM_KEYS:
                for side, _ in order:
                    # One warm-up, in the first round: a frozen environment's thaw is one call of
                    # thousands in a later round's run.
                    r = measure(side, key, 1, seconds, "obs-%s-%s-c1-%d" % (side, key, i), warmup=i == 0)
                    out["rows"].setdefault(key, {}).setdefault(side, {}).setdefault("1_rounds", []).append(r)
                    log("observability warm %-8s %-6s c1 round %d: p50 %d us p99 %d us %.0f/s, daemon CPU %s us/invoke"
                        % (key, side, i, r["latency_us"]["p50"], r["latency_us"]["p99"], r["rps"],
                           r.get("daemon_cpu_us_per_invoke")))
        # The io thread's own CPU per invoke, sampled by perf: what the hot path costs in user space
        # hardly moves with other work on the machine, which the kernel's share and latency do.
        perf_rounds = 1 if quick else 2
        for i in range(perf_rounds):
            order = sides if i % 2 == 0 else list(reversed(sides))
            for key in WARM_KEYS:
                for side, _ in order:
                    b.swap_daemon(daemons[side])
                    path = os.path.join(b.work, "perf-%s-%s-%d.data" % (side, key, i))
                    p = _perf_start(b.daemon.pid, path)
                    daemons[side] = b.swap_daemon()
                    if p is None:
                        out["perf_missing"] = "perf is not installed"
                        break
                    time.sleep(0.3)
                    r = measure(side, key, 1, seconds, "obs-perf-%s-%s-%d" % (side, key, i), warmup=False)
                    got = _perf_samples(p, path)
                    if not got:
                        out["perf_missing"] = "perf recorded nothing (perf_event_paranoid, or no permission)"
                        continue
                    got.update(requests=r["requests"],
                               user_us_per_invoke=round(got["user"] * 1e6 / PERF_HZ / r["requests"], 2),
                               kernel_us_per_invoke=round(got["kernel"] * 1e6 / PERF_HZ / r["requests"], 2))
                    out["rows"][key][side].setdefault("io_thread_perf", []).append(got)
                    log("observability warm %-8s %-6s io thread (perf): user %.1f us, kernel %.1f us per invoke"
                        % (key, side, got["user_us_per_invoke"], got["kernel_us_per_invoke"]))
        # The io thread's system calls per invoke (strace -c, which slows every call a lot: only
        # the counts mean something): a figure the machine's other work cannot move.
        for key in WARM_KEYS:
            for side, _ in sides:
                b.swap_daemon(daemons[side])
                path = os.path.join(b.work, "strace-%s-%s.txt" % (side, key))
                p = _strace_start(b.daemon.pid, path)
                daemons[side] = b.swap_daemon()
                if p is None:
                    out["strace_missing"] = "strace is not installed"
                    break
                r = measure(side, key, 1, seconds, "obs-strace-%s-%s" % (side, key), warmup=False)
                calls = _strace_calls(p, path)
                if not calls or not r["requests"]:
                    out["strace_missing"] = "strace counted nothing (no permission to trace?)"
                    continue
                per = dict((k, round(v / float(r["requests"]), 2)) for k, v in sorted(calls.items()))
                out["rows"][key][side]["io_thread_syscalls"] = {
                    "requests": r["requests"], "per_invoke": round(sum(calls.values()) / float(r["requests"]), 2),
                    "by_call": dict((k, v) for k, v in per.items() if v >= 0.01)}
                log("observability warm %-8s %-6s io thread: %.2f system calls per invoke (%s)"
                    % (key, side, out["rows"][key][side]["io_thread_syscalls"]["per_invoke"],
                       ", ".join("%s %.2f" % kv for kv in per.items() if kv[1] >= 0.05)))
        for key in WARM_KEYS:
            for side, _ in (sides if rounds % 2 == 0 else list(reversed(sides))):
                r = measure(side, key, 8, c8_seconds, "obs-%s-%s-c8" % (side, key))
                out["rows"][key][side]["8"] = r
                log("observability warm %-8s %-6s c8: %.0f/s p50 %d us p99 %d us"
                    % (key, side, r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"]))
    finally:
        for d in daemons.values():
            procs.stop(d[0])
        b.swap_daemon(saved)
        b.args.lambent = this_binary
    for key, row in out["rows"].items():
        for side in row.values():
            side["1"] = _pick_median_round(side["1_rounds"])
        if "before" not in row:
            continue
        a, z = row["after"]["1_rounds"], row["before"]["1_rounds"]
        diffs = [x["latency_us"]["p50"] - y["latency_us"]["p50"] for x, y in zip(a, z)]
        p99_diffs = [x["latency_us"]["p99"] - y["latency_us"]["p99"] for x, y in zip(a, z)]
        row["p50_diff_us"] = {"rounds": diffs, "median": _median(diffs), "min": min(diffs), "max": max(diffs)}
        row["p99_diff_us"] = {"rounds": p99_diffs, "median": _median(p99_diffs)}
        # The noise: how far one daemon's own p50 moves from round to round.
        row["p50_spread_us"] = dict((s, max(r["latency_us"]["p50"] for r in row[s]["1_rounds"])
                                     - min(r["latency_us"]["p50"] for r in row[s]["1_rounds"]))
                                    for s in ("after", "before"))
        cpu_a = _median([r.get("daemon_cpu_us_per_invoke") for r in a])
        cpu_z = _median([r.get("daemon_cpu_us_per_invoke") for r in z])
        if cpu_a is not None and cpu_z is not None:
            row["daemon_cpu_us_per_invoke"] = {"after": cpu_a, "before": cpu_z, "diff": round(cpu_a - cpu_z, 1)}
        pa = [x["user_us_per_invoke"] for x in row["after"].get("io_thread_perf", [])]
        pz = [x["user_us_per_invoke"] for x in row["before"].get("io_thread_perf", [])]
        if pa and pz:
            row["io_thread_user_us_per_invoke"] = {"after": pa, "before": pz,
                                                   "diff": round(_median(pa) - _median(pz), 2)}
        row["rps_ratio_c1"] = round(_median([r["rps"] for r in a]) / _median([r["rps"] for r in z]), 3)
        log("observability warm %-8s after - before p50: median %+.1f us (rounds %s), own spread after %d / "
            "before %d us" % (key, row["p50_diff_us"]["median"], diffs, row["p50_spread_us"]["after"],
                              row["p50_spread_us"]["before"]))
    return out


# -- a log flood beside a warm function ------------------------------------------------------

class RssSampler(threading.Thread):
    """The daemon's VmRSS and VmHWM every RSS_PERIOD_S, each sample tagged with the phase."""

    def __init__(self, pid, rss_kb):
        threading.Thread.__init__(self, daemon=True)
        self.pid, self.rss_kb = pid, rss_kb
        self.phase = "without"
        self.samples = []
        self.stop = threading.Event()
        self.t0 = time.time()

    def run(self):
        while not self.stop.is_set():
            self.samples.append({"t": round(time.time() - self.t0, 2), "phase": self.phase,
                                 "rss_kib": self.rss_kb(self.pid), "hwm_kib": self.rss_kb(self.pid, "VmHWM")})
            self.stop.wait(RSS_PERIOD_S)


def _flood_call(port, name, event, result):
    """Invokes the flooding function synchronously on its own connection (another thread)."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=event["seconds"] * 4 + 60)
        t0 = time.time()
        c.request("POST", "/2015-03-31/functions/%s/invocations" % name, json.dumps(event),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        result.update(status=r.status, started=t0, ended=time.time(), body=body[:300].decode(errors="replace"))
        c.close()
    except (OSError, http.client.HTTPException) as e:
        result.update(error=str(e) or type(e).__name__)


def _stored_lines(b, name, label):
    """One flood's lines the daemon stored: (their numbers, their stored times, the log's size)."""
    status, _, body = b.api.call("GET", "/lambent/v1/functions/%s/logs?tail=0&timestamps=true" % name)
    if status != 200:
        raise RuntimeError("logs of %s: %d %r" % (name, status, body[:200]))
    seqs, times = [], []
    pattern = re.compile(rb"^(\S+) .*?flood " + re.escape(label.encode()) + rb" (\d{9}) ", re.M)
    for m in pattern.finditer(body):
        seqs.append(int(m.group(2)))
        times.append(m.group(1).decode())
    return seqs, times, len(body)


def _epoch_ms(stamp):
    """'2024-01-01T00:00:00.000Z' -> ms since the epoch."""
    base, _, ms = stamp.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(ms or 0)


def _rss_summary(samples, phase):
    rss = [s["rss_kib"] for s in samples if s["phase"] == phase and s["rss_kib"]]
    hwm = [s["hwm_kib"] for s in samples if s["phase"] == phase and s["hwm_kib"]]
    if not rss:
        return None
    return {"n": len(rss), "first_kib": rss[0], "min_kib": min(rss), "max_kib": max(rss), "last_kib": rss[-1],
            "hwm_last_kib": hwm[-1] if hwm else None}


def _cpu_s(pid):
    """A process's CPU time so far (user + system), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


# The no-op's phases: (name, None without a flood, else whether the flood goes to /dev/null).
# Control and log flood twice each, in turns, so that a burst of other work on the machine does
# not decide the comparison alone.
PHASES = (("without", None), ("control", True), ("during", False), ("control", True), ("during", False),
          ("after", None))
PHASE_NAMES = ("without", "control", "during", "after")


def flood(b, procs, log, quick, rss_kb):
    probe_s = 1 if quick else 3
    flood_s = 3 if quick else 5  # covers 1.3 s + the probe
    out = {"rate_asked": FLOOD_RATE, "flood_seconds": flood_s, "probe_seconds": probe_s, "memory_mb": 1769,
           "rss_period_s": RSS_PERIOD_S, "runs": [], "phases": {}}
    saved = b.swap_daemon()
    b.start_daemon("obs-flood")
    sampler = None
    try:
        out["daemon_options"] = "defaults (--max-log-mb 64)"
        pid = b.daemon.pid
        victim = b.create("obs-victim", "provided")
        flooder = b.create("obs-flooder", "python", "flood")
        b.invoke(victim)
        status, _, body, _ = b.invoke(flooder, json.dumps({"rate": 1000, "seconds": 0.05, "devnull": True}).encode())
        if status != 200:
            raise RuntimeError("observability: the flood function failed: %d %r" % (status, body[:200]))
        url = b.invoke_url(victim)
        b.wrk.run(url, 1, 1, 1, "warmup-obs-victim")
        sampler = RssSampler(pid, rss_kb)
        sampler.start()
        time.sleep(0.5)
        for i, (tag, devnull) in enumerate(PHASES):
            sampler.phase = tag
            run = {"phase": tag}
            caller, result = None, {}
            t0, cpu0 = time.time(), _cpu_s(pid)
            if devnull is not None:
                event = {"rate": FLOOD_RATE, "seconds": flood_s, "devnull": devnull, "label": "f%d" % i}
                caller = threading.Thread(target=_flood_call, args=(b.port, flooder, event, result), daemon=True)
                caller.start()
                time.sleep(0.3)
                t0, cpu0 = time.time(), _cpu_s(pid)
            # The daemon's CPU over a second with the flood alone beside it (or nothing).
            time.sleep(1.0)
            cpu1 = _cpu_s(pid)
            if cpu0 is not None and cpu1 is not None:
                run["daemon_cpu_alone"] = round((cpu1 - cpu0) / (time.time() - t0), 3)
            t0, cpu0 = time.time(), _cpu_s(pid)
            r = b.wrk.run(url, 1, 1, probe_s, "obs-flood-%d-%s" % (i, tag))
            cpu1 = _cpu_s(pid)
            if cpu0 is not None and cpu1 is not None:
                run["daemon_cpu_wrk"] = round((cpu1 - cpu0) / (time.time() - t0), 3)
            run["c1"] = r
            log("observability flood %-8s victim c1: p50 %d us p99 %d us %.0f/s errors %d"
                % (tag, r["latency_us"]["p50"], r["latency_us"]["p99"], r["rps"], r["non_2xx_or_socket_errors"]))
            if caller:
                run["probe_inside_flood"] = time.time() - t0 <= flood_s - 1.3
                caller.join(flood_s * 4 + 60)
                if "error" in result or result.get("status") != 200:
                    raise RuntimeError("observability: the flood call failed: %s" % (result.get("error") or result))
                wrote = json.loads(result["body"])
                wrote.update(label=event["label"], call_seconds=round(result["ended"] - result["started"], 3),
                             rate_per_s=round(wrote["lines"] / wrote["seconds"]) if wrote["seconds"] else None)
                run["call"] = wrote
                log("observability flood %-8s the function wrote %d lines in %.2f s (%d/s)%s"
                    % (tag, wrote["lines"], wrote["seconds"], wrote["rate_per_s"] or 0,
                       " to /dev/null" if devnull else ""))
            run["rss_end_kib"] = rss_kb(pid)
            out["runs"].append(run)
        time.sleep(2.0)
        sampler.stop.set()
        sampler.join(5)
        for tag in PHASE_NAMES:
            runs = [x for x in out["runs"] if x["phase"] == tag]
            out["phases"][tag] = {
                "p50_us": [x["c1"]["latency_us"]["p50"] for x in runs],
                "p99_us": [x["c1"]["latency_us"]["p99"] for x in runs],
                "rps": [x["c1"]["rps"] for x in runs],
                "errors": sum(x["c1"]["non_2xx_or_socket_errors"] for x in runs),
                "daemon_cpu_alone": [x.get("daemon_cpu_alone") for x in runs],
                "daemon_cpu_wrk": [x.get("daemon_cpu_wrk") for x in runs],
                "lines_per_s": [x["call"]["rate_per_s"] for x in runs if "call" in x]}
        last = [x for x in out["runs"] if x["phase"] == "during"][-1]["call"]
        out["lines"] = _count_lines(b, flooder, last)
        lines = out["lines"]
        log("observability flood: the last log flood's lines: stored %d (%s..%s, %s missing inside, %s at the end, "
            "%s rotated out), %s/s by their stored times"
            % (lines["stored"], lines["first_stored"], lines["last_stored"], lines["missing_inside"],
               lines["missing_at_end"], lines["before_first_stored"], lines["rate_stored_per_s"]))
        # One line each in the results file: "seconds phase VmRSS VmHWM" (KiB).
        out["rss_samples"] = ["%.2f %s %s %s" % (x["t"], x["phase"], x["rss_kib"], x["hwm_kib"])
                              for x in sampler.samples]
        out["rss"] = dict((p, _rss_summary(sampler.samples, p)) for p in PHASE_NAMES)
        log("observability flood: daemon VmRSS %s; at the end of each phase %s" % (", ".join(
            "%s %s..%s KiB" % (p, (v or {}).get("min_kib"), (v or {}).get("max_kib")) for p, v in out["rss"].items()),
            [(x["phase"], x["rss_end_kib"]) for x in out["runs"]]))
    finally:
        if sampler:
            sampler.stop.set()
        procs.stop(b.daemon)
        b.swap_daemon(saved)
    return out


def _count_lines(b, name, wrote):
    """What became of one flood's lines: read back through the logs API, by their numbers."""
    seqs, stamps, stored_bytes = _stored_lines(b, name, wrote["label"])
    ms = [_epoch_ms(s) for s in stamps] if stamps else []
    distinct = set(seqs)
    first, last = (min(distinct), max(distinct)) if distinct else (None, None)
    out = {
        "label": wrote["label"], "written": wrote["lines"], "write_seconds": wrote["seconds"],
        "rate_written_per_s": wrote["rate_per_s"], "call_seconds": wrote["call_seconds"],
        "stored": len(distinct), "stored_bytes": stored_bytes, "first_stored": first, "last_stored": last,
        # The oldest, rotated out by the function's log cap.
        "before_first_stored": first,
        # Missing between the first and the last stored: lost on the way.
        "missing_inside": (last - first + 1 - len(distinct)) if distinct else None,
        "missing_at_end": (wrote["lines"] - 1 - last) if distinct else None,
        "duplicates": len(seqs) - len(distinct),
        "stored_span_s": round((max(ms) - min(ms)) / 1000.0, 3) if ms else None,
    }
    out["rate_stored_per_s"] = round(len(distinct) / out["stored_span_s"]) if out["stored_span_s"] else None
    return out


def run(b, procs, log, quick, before=None, before_commit=None, rss_kb=None):
    out = {"before_commit": before_commit if before else None}
    if not before:
        out["before_missing"] = ("none given: bench/run.sh builds one from OBS_BEFORE_COMMIT when the clone has "
                                 "that commit")
    t = time.time()
    out["warm"] = warm(b, procs, log, quick, before)
    out["warm"]["elapsed_s"] = round(time.time() - t, 1)
    t = time.time()
    out["flood"] = flood(b, procs, log, quick, rss_kb)
    out["flood"]["elapsed_s"] = round(time.time() - t, 1)
    return out


# -- standalone: what bench.py's main does for its own sections ------------------------------

def main(argv):
    sys.path.insert(0, BENCH_DIR)
    import bench as harness  # bench/bench.py: the daemon, wrk and process helpers
    import report

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lambent", required=True)
    ap.add_argument("--native-dir", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--obs-before-lambent", default="", help="the daemon built before issue 14")
    ap.add_argument("--obs-before-commit", default="")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "results", "latest.json"))
    ap.add_argument("--docs", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--before", default=os.path.join(BENCH_DIR, "results", "issue10-before.json"))
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--no-merge", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--binary-label", default="")
    ap.add_argument("--commit-label", default="")
    args, _ = ap.parse_known_args(argv)  # bench.py's other options mean nothing here
    for attr in ("lambent", "native_dir", "cache", "out", "docs", "before", "obs_before_lambent"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))
    # What bench.Bench reads of its options; its scratch directory is a subdirectory of the
    # cache of its own, so the logs of a bench.py run just before stay.
    args.cache = os.path.join(args.cache, "observability")
    args.latency_seconds, args.throughput_seconds = 10, 5

    def on_signal(signum, _frame):
        raise SystemExit("stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    b = harness.Bench(args)
    log = harness.log
    b.machine()
    if args.commit_label:
        b.results["machine"].update(lambent_commit=args.commit_label, lambent_tree_dirty=False)
    t_start = time.time()
    busy, load = harness.cpu_busy(0.5), open("/proc/loadavg").read().split()[:3]
    try:
        sec = run(b, harness.PROCS, log, args.quick, args.obs_before_lambent or None,
                  args.obs_before_commit or None, harness.rss_kb)
    finally:
        harness.PROCS.stop_all()
    m = b.results["machine"]
    sec.update(elapsed_s=round(time.time() - t_start, 1), cpu_busy_before=busy, loadavg_before=load,
               run={"date": m["date"], "only": "observability", "lambent_commit": m["lambent_commit"],
                    "lambent_tree_dirty": m["lambent_tree_dirty"], "binary": b.binary_label(),
                    "quick": args.quick, "loadavg_start": m["loadavg_start"],
                    "cpu_busy_before_start": m["cpu_busy_before_start"]})
    m["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    b.results["sections"]["observability"] = sec
    b.results.update(elapsed_s=sec["elapsed_s"], daemon={"binary": b.binary_label()},
                     targets=harness.TARGETS)
    results = b.results
    if not args.no_merge and os.path.exists(args.out):
        with open(args.out) as f:
            results = report.merge(json.load(f), b.results)
        log("merged the observability section into %s" % args.out)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=False)
        f.write("\n")
    log("results: %s" % args.out)
    if not args.no_docs:
        before = None
        if args.before and os.path.exists(args.before) and args.before != args.out:
            with open(args.before) as f:
                before = json.load(f)
        with open(args.docs, "w") as f:
            f.write(report.render(results, before=before))
        log("report: %s" % args.docs)


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

def _rate(r):
    return "{:,}".format(int(round(r["rps"]))) if r else "–"


def _us(r, q):
    return "{:,}".format(r["latency_us"][q]) if r else "–"


def _verdict(d):
    if d["median"] <= P50_TARGET_US:
        return "met"
    if d["min"] < 0 < d["max"]:
        # Some rounds found the new daemon faster, some slower: the machine's noise, not a cost.
        return "not resolved: the rounds disagree in sign, the noise is larger than the target"
    return "missed"


def render(section):
    if not section:
        return []
    w = section.get("warm") or {}
    fl = section.get("flood") or {}
    commit = section.get("before_commit")
    lines = ["## Issue 14: what metering and metrics cost, and a log flood", ""]
    if "cpu_busy_before" in section:
        lines += ["Cores busy just before the section (other work on the machine): %d%%; load average %s. The "
                  "section took %s s." % (round(100 * section["cpu_busy_before"]),
                                          " ".join(section.get("loadavg_before") or []),
                                          section.get("elapsed_s", "?")), ""]
    if commit:
        lines += ["The warm path against the daemon built from commit %s, the last before issue 14's work (the "
                  "invocation observer, trace ids, the usage ledger, the metrics and the log streams came after "
                  "it), both running in this run. The same no-op on each (provided.al2023 and python3.11, "
                  "1,769 MB), wrk POSTing `{}` to the Invoke API: c1 in %d rounds of %d s (a 1 s warm-up before "
                  "the first), the two daemons back to back for each runtime and the order swapped every round; "
                  "the round with the median p50 shown, with every round's p50 beside it; then c8 for %d s each "
                  "after a 1 s warm-up, in turns. The daemon's CPU per invoke: its CPU time (`/proc/PID/stat`, "
                  "all threads, the ledger's and log writer's included) over a run divided by the run's "
                  "invocations, median of the rounds. Target: a warm invoke's p50 at most %d µs above the "
                  "daemon before the issue. Microseconds."
                  % (commit, w.get("rounds", 0), w.get("c1_seconds", 0), w.get("c8_seconds", 0), P50_TARGET_US),
                  ""]
    else:
        lines += ["No daemon from before issue 14 in this run (%s): the warm rows show this daemon only."
                  % section.get("before_missing", "not built"), ""]
    lines += ["| runtime | daemon | c1 p50 | p50 of each round | c1 p99 | c1 /s | daemon CPU per invoke, c1 | "
              "c8 /s | c8 p50 | c8 p99 |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for key in WARM_KEYS:
        row = (w.get("rows") or {}).get(key)
        if not row:
            continue
        for side in ("before", "after"):
            s = row.get(side)
            if not s:
                continue
            label = ("commit %s (before)" % commit) if side == "before" else "this build (after)"
            cpu = _median([r.get("daemon_cpu_us_per_invoke") for r in s["1_rounds"]])
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                         % (key, label, _us(s["1"], "p50"),
                            ", ".join("{:,}".format(r["latency_us"]["p50"]) for r in s["1_rounds"]),
                            _us(s["1"], "p99"), _rate(s["1"]), "%.1f µs" % cpu if cpu is not None else "–",
                            _rate(s.get("8")), _us(s.get("8"), "p50"), _us(s.get("8"), "p99")))
        d = row.get("p50_diff_us")
        if d:
            cpu = row.get("daemon_cpu_us_per_invoke")
            verdicts.append("%s: after − before p50 **%+g µs** (median of the rounds' differences; each round %s), "
                            "p99 %+.0f µs; the same daemon's p50 moved by %d µs (after) and %d µs (before) between "
                            "rounds; c1 rate after / before %.3f%s — **%s**"
                            % (key, d["median"], ", ".join("%+d" % x for x in d["rounds"]),
                               row["p99_diff_us"]["median"], row["p50_spread_us"]["after"],
                               row["p50_spread_us"]["before"], row["rps_ratio_c1"],
                               "; the daemon's CPU per invoke %+.1f µs (%.1f against %.1f)"
                               % (cpu["diff"], cpu["after"], cpu["before"]) if cpu else "",
                               _verdict(d)))
            io = row.get("io_thread_user_us_per_invoke")
            if io:
                verdicts.append("%s, the io thread's own CPU per invoke in user space (perf, %d Hz, during c1 runs "
                                "of %d s): after %s µs, before %s µs: **%+.2f µs** (medians)"
                                % (key, PERF_HZ, w.get("c1_seconds", 0), ", ".join("%.1f" % x for x in io["after"]),
                                   ", ".join("%.1f" % x for x in io["before"]), io["diff"]))
    lines.append("")
    if verdicts:
        lines += ["- " + v for v in verdicts] + [""]
    for key in WARM_KEYS:
        row = (w.get("rows") or {}).get(key) or {}
        sc = dict((side, (row.get(side) or {}).get("io_thread_syscalls")) for side in ("before", "after"))
        if sc["before"] and sc["after"]:
            names = sorted(n for n in set(sc["before"]["by_call"]) | set(sc["after"]["by_call"])
                           if max(sc["before"]["by_call"].get(n, 0), sc["after"]["by_call"].get(n, 0)) >= 0.05)
            lines += ["- %s, the io thread's system calls per invoke (`strace -c` on it alone, a c1 run of %d s): "
                      "before %.2f, after %.2f (%s)"
                      % (key, w.get("c1_seconds", 0), sc["before"]["per_invoke"], sc["after"]["per_invoke"],
                         ", ".join("%s %.2f → %.2f" % (n, sc["before"]["by_call"].get(n, 0),
                                                       sc["after"]["by_call"].get(n, 0)) for n in names))]
    if any(((w.get("rows") or {}).get(k) or {}).get("after", {}).get("io_thread_syscalls") for k in WARM_KEYS):
        lines.append("")
    if w.get("strace_missing"):
        lines += ["The io thread's system calls were not counted: %s." % w["strace_missing"], ""]
    if w.get("perf_missing"):
        lines += ["The io thread's CPU was not sampled: %s." % w["perf_missing"], ""]
    if not fl:
        return lines
    li = fl.get("lines") or {}
    ph = fl.get("phases") or {}
    lines += ["A log flood beside a warm function: `flood` of `bench/handlers/python/handler.py` (python3.11, "
              "1,769 MB) prints %s lines a second for %d s, one `print()` per line (its stdout is line-buffered: "
              "one write to the pipe per line), paced in 10 ms batches, through one synchronous Invoke. Beside it "
              "a warm provided no-op of the same daemon (%s) is driven by wrk at c1 for %d s, in phases: before "
              "any flood; while the function prints the same lines to /dev/null (its own work and none for the "
              "platform: the control); while it floods its log; the control and the log flood once more, in "
              "turns; after it. The daemon's VmRSS and VmHWM (`/proc/PID/status`) every %.1f s throughout; its "
              "CPU time (`/proc/PID/stat`, all threads), in cores, over the second before each wrk run (the flood "
              "alone) and over the run. Each phase's figures in the order measured."
              % ("{:,}".format(fl["rate_asked"]), fl["flood_seconds"], fl.get("daemon_options", "defaults"),
                 fl["probe_seconds"], fl["rss_period_s"]), "",
              "| the no-op, c1 | p50 | p99 | invocations/s | errors | daemon CPU, the 1 s before | daemon CPU, during "
              "the wrk run | the flood function wrote, lines/s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def each(values, fmt):
        return ", ".join(fmt(v) for v in values if v is not None) or "–"
    for key, label in (("without", "before any flood"), ("control", "beside the flood to /dev/null"),
                       ("during", "beside the log flood"), ("after", "after it")):
        p = ph.get(key)
        if not p:
            continue
        lines.append("| %s | %s | %s | %s | %d | %s | %s | %s |"
                     % (label, each(p["p50_us"], "{:,}".format), each(p["p99_us"], "{:,}".format),
                        each(p["rps"], lambda v: "{:,}".format(int(round(v)))), p["errors"],
                        each(p["daemon_cpu_alone"], "{:.2f}".format), each(p["daemon_cpu_wrk"], "{:.2f}".format),
                        each(p["lines_per_s"], "{:,}".format)))
    lines.append("")
    alone_flood = _median((ph.get("during") or {}).get("daemon_cpu_alone") or [])
    alone_control = _median((ph.get("control") or {}).get("daemon_cpu_alone") or [])
    if alone_flood is not None and alone_control is not None:
        lines += ["With the no-op idle (the second before each wrk run), the daemon took %.2f cores beside the log "
                  "flood and %.2f beside the "
                  "flood to /dev/null (medians): about %.1f µs of its CPU per line (reading the pipe on the io "
                  "thread, stamping and buffering each line, writing them out on the log writer's thread)."
                  % (alone_flood, alone_control, (alone_flood - alone_control) * 1e6 / fl["rate_asked"]), ""]
    if li:
        lines += ["| the last log flood's lines | |", "|---|---|",
                  "| written by the function | {:,} in {:.2f} s: **{:,}/s** (its Invoke took {:.2f} s) |".format(
                      li["written"], li["write_seconds"], li["rate_written_per_s"] or 0, li["call_seconds"]),
                  "| stored, read back through the logs API (`tail=0&timestamps=true`) | {:,}; their stored times "
                  "span {} s: {:,}/s |".format(li["stored"], li["stored_span_s"], li["rate_stored_per_s"] or 0),
                  "| the oldest, rotated out by the function's log cap (64 MiB on disk with each line's time and "
                  "stream; the file is rotated at half of it) | {:,} |".format(li["before_first_stored"] or 0),
                  "| missing between the first and the last stored (lost on the way) | {:,} |".format(
                      li["missing_inside"] or 0),
                  "| missing after the last stored | {:,} |".format(li["missing_at_end"] or 0), ""]
    rss = fl.get("rss") or {}
    if rss:
        lines += ["| daemon memory | samples | VmRSS min | max | at the end of each phase | VmHWM at the end |",
                  "|---|---:|---:|---:|---:|---:|"]
        for key, label in (("without", "before any flood"), ("control", "flood to /dev/null"),
                           ("during", "log flood"), ("after", "after it")):
            v = rss.get(key)
            if v:
                ends = [x.get("rss_end_kib") for x in fl.get("runs", []) if x["phase"] == key]
                lines.append("| %s | %d | %s KiB | %s KiB | %s KiB | %s KiB |"
                             % (label, v["n"], "{:,}".format(v["min_kib"]), "{:,}".format(v["max_kib"]),
                                each(ends, "{:,}".format), "{:,}".format(v["hwm_last_kib"] or 0)))
        order = [(x["phase"], x.get("rss_end_kib")) for x in fl.get("runs", [])]
        if order:
            lines += ["", "VmRSS at the end of each phase, in the order run: %s KiB."
                      % " → ".join("{} {:,}".format(p, v or 0) for p, v in order)]
        lines.append("")
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
