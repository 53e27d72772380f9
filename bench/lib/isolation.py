"""The freeze and tmp sections of the benchmark (issue 9, items 11 and 12), run by bench.py.

freeze  what freezing idle environments costs: the thaw itself (one write to the freezer's
        state file, timed on a cgroup of the benchmark's own), the first invoke after an idle
        spell long enough to be frozen against one too short to be (and against the same idle
        spell with freezing off, --freeze-after-ms 0), and warm figures under load with
        freezing on and off (wrk, two daemons).
tmp     what a disk-backed /tmp costs a cold start: the same cold starts against a daemon with
        /tmp on disk (the default) and one with --tmpfs-tmp, interleaved sample by sample so
        that drift on a shared machine falls on both alike.
"""

import os
import re
import statistics
import time


def _summary(values, digits=3):
    if not values:
        return None
    v = sorted(values)
    def pct(q):
        return v[max(0, min(len(v) - 1, int(round(q / 100.0 * len(v) + 0.5)) - 1))]
    return {"n": len(v), "min": round(v[0], digits), "median": round(statistics.median(v), digits),
            "p90": round(pct(90), digits), "p99": round(pct(99), digits), "max": round(v[-1], digits)}


# -- thaw latency ------------------------------------------------------------------------------

def _freezer_group():
    """A fresh group of the benchmark's own with a freezer: (directory, state file, frozen,
    thawed, v1?), or None."""
    own = open("/proc/self/cgroup").read().splitlines()
    for line in own:
        _, controllers, path = line.split(":", 2)
        if "freezer" in controllers.split(","):
            base = "/sys/fs/cgroup/freezer" + path.rstrip("/")
            d = "%s/lambent-bench-%d" % (base, os.getpid())
            os.makedirs(d, exist_ok=True)
            return d, "freezer.state", b"FROZEN", b"THAWED", True
    for line in own:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                base = root + path.rstrip("/")
                if os.path.exists(base + "/cgroup.freeze") or os.path.exists(base + "/cgroup.controllers"):
                    d = "%s/lambent-bench-%d" % (base, os.getpid())
                    try:
                        os.makedirs(d, exist_ok=True)
                    except OSError:
                        continue
                    if os.path.exists(d + "/cgroup.freeze"):
                        return d, "cgroup.freeze", b"1", b"0", False
    return None


def thaw_latency(samples=300, sentinel=True):
    """Times the write that thaws a frozen group holding one sleeping process, as the
    daemon's Freezer does it (descriptor kept open, one pwrite). With `sentinel`, an empty
    sibling group stays frozen meanwhile, as the daemon keeps one on v1 (the first frozen group
    switches a kernel static key on, the last thaw off, each a text patch of milliseconds)."""
    if os.geteuid() != 0:
        return {"skipped": "needs root"}
    group = _freezer_group()
    if not group:
        return {"skipped": "no cgroup freezer"}
    d, state_file, frozen, thawed, v1 = group
    keep = None
    if sentinel and v1:
        keep = d + "-sentinel"
        os.makedirs(keep, exist_ok=True)
        with open(keep + "/freezer.state", "wb") as f:
            f.write(frozen)
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    out = {"cgroup": "v1 freezer.state" if v1 else "v2 cgroup.freeze", "samples": samples,
           "sentinel": keep is not None}
    try:
        with open(d + "/cgroup.procs", "w") as f:
            f.write(str(pid))
        fd = os.open(d + "/" + state_file, os.O_WRONLY)
        thaws, freezes = [], []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            os.pwrite(fd, frozen, 0)
            freezes.append((time.perf_counter_ns() - t0) / 1000.0)
            # v1 may still be FREEZING; wait until it settles, as an idle environment does.
            deadline = time.time() + 1
            while v1 and time.time() < deadline and open(d + "/freezer.state").read().strip() != "FROZEN":
                time.sleep(0.0002)
            t0 = time.perf_counter_ns()
            os.pwrite(fd, thawed, 0)
            thaws.append((time.perf_counter_ns() - t0) / 1000.0)
        os.close(fd)
        out["thaw_us"] = _summary(thaws, 1)
        out["freeze_us"] = _summary(freezes, 1)
    finally:
        try:
            with open(d + "/" + state_file, "wb") as f:
                f.write(thawed)
        except OSError:
            pass
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.01)
        if keep:
            os.rmdir(keep)
    return out


# -- sections ----------------------------------------------------------------------------------

def _after_idle(b, daemons, key, idle_s, count):
    """Client-timed invokes, each after `idle_s` without one, alternating between `daemons`
    (tag: saved daemon) call by call; {tag: summary}."""
    lat = dict((tag, []) for tag in daemons)
    for i in range(count + 1):
        for tag in (sorted(daemons) if i % 2 == 0 else sorted(daemons, reverse=True)):
            b.swap_daemon(daemons[tag])
            name = b.create("idle-" + key, key)
            time.sleep(idle_s)
            status, hdrs, _, ms = b.invoke(name)
            if i > 0 and status == 200 and "x-amz-function-error" not in hdrs:
                lat[tag].append(ms)
            daemons[tag] = b.swap_daemon()
    return dict((tag, _summary(v)) for tag, v in lat.items())


def freeze(b, procs, log, quick=False):
    out = {"thaw": thaw_latency(50 if quick else 300)}
    t = out["thaw"]
    if "thaw_us" in t:
        log("freeze: thaw write (%s) p50 %.1f us p99 %.1f us" % (t["cgroup"], t["thaw_us"]["median"],
                                                                 t["thaw_us"]["p99"]))
    count = 8 if quick else 25
    short, long_ = 0.02, 0.3  # the daemon freezes after 100 ms idle
    main = b.swap_daemon()
    daemons = {}
    for tag, extra in (("freezing", []), ("not-freezing", ["--freeze-after-ms", "0"])):
        b.start_daemon("freeze-" + tag, extra)
        daemons[tag] = b.swap_daemon()
    out["first_call_ms"] = {}
    out["load"] = {}
    for key in ("provided", "python"):
        rows = {}
        for idle in (short, long_):
            for tag, got in _after_idle(b, daemons, key, idle, count).items():
                rows["%s, idle %d ms" % (tag, idle * 1000)] = got
        out["first_call_ms"][key] = rows
        f, n = rows["freezing, idle 300 ms"], rows["not-freezing, idle 300 ms"]
        if f and n:
            log("freeze: %s first call after 300 ms idle p50 %.3f ms frozen, %.3f ms not frozen"
                % (key, f["median"], n["median"]))
    # Short runs, alternating between the daemons, so that other work on the machine falls
    # on both alike; the medians of the runs' figures.
    rounds, seconds = (1, 1) if quick else (4, 2)
    runs = dict((tag, []) for tag in daemons)
    for i in range(rounds):
        for tag in (("freezing", "not-freezing") if i % 2 == 0 else ("not-freezing", "freezing")):
            b.swap_daemon(daemons[tag])
            url = b.invoke_url(b.create("noop-provided", "provided"))
            if i == 0:
                b.warm(url, 1, 1)
            c1 = b.wrk.run(url, 1, 1, seconds, "freeze-%s-c1" % tag)
            c8 = b.wrk.run(url, 8, 2, seconds, "freeze-%s-c8" % tag)
            runs[tag].append((c1, c8))
            daemons[tag] = b.swap_daemon()
    for tag, got in runs.items():
        med = lambda f: statistics.median([f(c1, c8) for c1, c8 in got])
        out["load"][tag] = {"runs": len(got), "seconds": seconds,
                            "c1_p50_us": med(lambda c1, c8: c1["latency_us"]["p50"]),
                            "c1_p99_us": med(lambda c1, c8: c1["latency_us"]["p99"]),
                            "c1_rps": med(lambda c1, c8: c1["rps"]),
                            "c8_p50_us": med(lambda c1, c8: c8["latency_us"]["p50"]),
                            "c8_p99_us": med(lambda c1, c8: c8["latency_us"]["p99"]),
                            "c8_rps": med(lambda c1, c8: c8["rps"])}
        r = out["load"][tag]
        log("freeze: load %s c1 p50 %d p99 %d us, c8 %.0f/s" % (tag, r["c1_p50_us"], r["c1_p99_us"], r["c8_rps"]))
    for tag in daemons:
        procs.stop(daemons[tag][0])
    b.swap_daemon(main)
    return out


def _misses(log_path):
    """How many environments got a tmpfs /tmp because no image was ready (the daemon logs
    the 1st, 2nd, 4th... miss)."""
    try:
        found = re.findall(r"got a tmpfs /tmp \((\d+) so far\)", open(log_path, errors="replace").read())
    except OSError:
        return None
    return max([int(x) for x in found] or [0])


def tmp(b, procs, log, quick=False):
    n = 10 if quick else 100
    gap = 0.03
    main = b.swap_daemon()
    daemons = {}
    for tag, extra in (("disk", []), ("tmpfs", ["--tmpfs-tmp"])):
        b.start_daemon("tmp-" + tag, extra)
        daemons[tag] = b.swap_daemon()
    out = {"method": "cold starts alternating between a daemon with /tmp on disk (the default) and "
                     "one with --tmpfs-tmp, sample by sample; otherwise as the cold section: "
                     "UpdateFunctionConfiguration, a %d ms pause (python: and until a prestarted "
                     "environment is ready), one invoke with the log tail, client-timed" % (gap * 1000),
           "rows": {}}
    for key, prestarted in (("provided", False), ("python", True)):
        samples = dict((tag, {"total": [], "startup": {}, "failures": 0}) for tag in daemons)
        for tag in daemons:
            b.swap_daemon(daemons[tag])
            b.create("tmp-" + key, key)
            daemons[tag] = b.swap_daemon()
        for i in range(n + 2):
            for tag in (("disk", "tmpfs") if i % 2 else ("tmpfs", "disk")):
                b.swap_daemon(daemons[tag])
                name = "tmp-" + key
                b.retire(name, "%s-%d" % (tag, i))
                time.sleep(gap)
                if prestarted and i > 0:
                    b.prestarted_ready(name)
                status, hdrs, _, ms = b.invoke(name, tail=True)
                if status != 200 or "x-amz-function-error" in hdrs:
                    samples[tag]["failures"] += 1
                elif i >= 2:
                    samples[tag]["total"].append(ms)
                    for phase, value in b.startup_of(name)[0].items():
                        samples[tag]["startup"].setdefault(phase, []).append(value)
                daemons[tag] = b.swap_daemon()
        row = {}
        for tag, s in samples.items():
            row[tag] = {"total_ms": _summary(s["total"]), "failures": s["failures"],
                        "startup_ms": dict((k, _summary(v)) for k, v in s["startup"].items())}
        d, t = row["disk"]["total_ms"], row["tmpfs"]["total_ms"]
        if d and t:
            row["median_delta_ms"] = round(d["median"] - t["median"], 3)
            log("tmp: %s cold median %.2f ms on disk, %.2f ms tmpfs (delta %+.2f ms)"
                % (key, d["median"], t["median"], row["median_delta_ms"]))
        out["rows"][key] = row
    out["tmpfs_fallbacks_in_disk_daemon"] = _misses(os.path.join(b.logs, "daemon-tmp-disk.log"))
    for tag in daemons:
        procs.stop(daemons[tag][0])
    b.swap_daemon(main)
    return out


# -- report ------------------------------------------------------------------------------------

def _f(v, digits=2):
    return "–" if v is None else ("%.*f" % (digits, v))


def render(sections):
    """Markdown for the two sections, or [] when neither ran."""
    fr, tm = sections.get("freeze"), sections.get("tmp")
    lines = []
    w = lines.append
    if tm:
        w("## /tmp on disk: cold start cost")
        w("")
        w("Method: %s. Milliseconds; the first two samples of each are not counted. Target: a "
          "disk-backed /tmp adds at most 0.5 ms to the median." % tm["method"])
        w("")
        w("| runtime | /tmp | n | total median | total p99 | prepare | sandbox setup | assignment | "
          "daemon's timeline, total |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for key, label in (("provided", "provided.al2023, on demand"), ("python", "python3.11, prestarted")):
            row = tm["rows"].get(key)
            if not row:
                continue
            for tag in ("disk", "tmpfs"):
                r = row[tag]
                t = r["total_ms"] or {}
                st = r["startup_ms"]
                med = lambda phase: _f((st.get(phase) or {}).get("median"))
                w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    label, "ext4 on a loop device" if tag == "disk" else "tmpfs (`--tmpfs-tmp`)", t.get("n", 0),
                    _f(t.get("median")), _f(t.get("p99")), med("PrepareMs"), med("SandboxMs"), med("AssignMs"),
                    med("TotalMs")))
            w("| %s | **difference of medians** | | **%s** | | | | | |" % (label, _f(row.get("median_delta_ms"))))
        w("")
        w("Prepare (the daemon takes an image and chowns its root), sandbox setup (init receives it and "
          "moves it onto /tmp instead of mounting a tmpfs) and assignment (a prestarted environment: "
          "the image mounted over its tmpfs) are the steps a disk-backed /tmp touches; medians, ms, "
          "from the daemon's timeline of each environment. Environments of the disk daemon that found "
          "no ready image and got a tmpfs instead: %s." % tm.get("tmpfs_fallbacks_in_disk_daemon"))
        w("")
    if fr:
        w("## Freezing idle environments")
        w("")
        t = fr.get("thaw", {})
        if "thaw_us" in t:
            w("Thaw: one write to %s of a frozen group holding one sleeping process, descriptor kept "
              "open as the daemon's Freezer keeps it, %d samples: median **%s µs**, p99 %s µs "
              "(freeze write: median %s µs)." % (t["cgroup"], t["samples"], _f(t["thaw_us"]["median"], 1),
                                                   _f(t["thaw_us"]["p99"], 1), _f(t["freeze_us"]["median"], 1)))
            if t.get("sentinel"):
                w("")
                w("On cgroup v1 the daemon keeps an empty group frozen for its whole life, and this "
                  "measurement does the same: the first frozen group on a host switches a kernel static "
                  "key on and the last thaw switches it off, each a patch of the kernel's text (a lone "
                  "group's thaw took a median 3.6 ms, p99 5.9 ms on this machine).")
        else:
            w("Thaw latency not measured: %s." % t.get("skipped"))
        w("")
        w("First invoke after an idle spell (client-timed, ms; the two daemons alternate call by "
          "call): the daemon freezes an environment idle for 100 ms, so after 300 ms it is frozen "
          "and after 20 ms it is not; the second daemon never freezes (`--freeze-after-ms 0`).")
        w("")
        w("| runtime | daemon, idle before the call | n | median | p99 |")
        w("|---|---|---:|---:|---:|")
        added = []
        for key, rows in fr.get("first_call_ms", {}).items():
            for label, r in rows.items():
                if r:
                    w("| %s | %s | %d | %s | %s |" % (key, label, r["n"], _f(r["median"], 3), _f(r["p99"], 3)))
            f, n = rows.get("freezing, idle 300 ms"), rows.get("not-freezing, idle 300 ms")
            if f and n:
                added.append("%s %+.3f ms" % (key, f["median"] - n["median"]))
        w("")
        if added:
            w("What a thaw adds to the first call after idling (median, frozen against not frozen after "
              "the same 300 ms): %s. The write is the thaw figure above; the rest is the runtime "
              "leaving the freezer and being scheduled before it reads its event." % ", ".join(added))
            w("")
        load = fr.get("load", {})
        if load:
            any_row = next(iter(load.values()))
            w("Warm under load, provided noop (wrk, %d runs of %d s per daemon and concurrency, the "
              "daemons alternating; medians of the runs; µs, invocations/s): freezing never touches a "
              "busy environment." % (any_row.get("runs", 1), any_row.get("seconds", 0)))
            w("")
            w("| daemon | c1 p50 | c1 p99 | c1 /s | c8 p50 | c8 p99 | c8 /s |")
            w("|---|---:|---:|---:|---:|---:|---:|")
            for tag, r in load.items():
                w("| %s | %d | %d | %s | %d | %d | %s |" % (tag, r["c1_p50_us"], r["c1_p99_us"], "{:,.0f}".format(r["c1_rps"]),
                                                          r["c8_p50_us"], r["c8_p99_us"], "{:,.0f}".format(r["c8_rps"])))
            w("")
    return lines
