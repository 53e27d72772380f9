"""Renders the scale section (issue 10: bursts and crowds) as Markdown: one table of the issue's
rows, before and after, then the figures behind each row. Called by report.py."""

RUNTIMES = ("provided", "python", "node")
BURST_TARGET_MS = {"provided": 300, "python": 500, "node": 600}
BARE_FOR = {"python": "python3 -c pass", "node": "node -e 0"}

TARGETS = {
    "probe_during_p99_ms": 0.5,
    "small_p99_ms": 10,
    "c64_of_best_pct": 90,
    "functions_all_returned_ms": 1000,
    "on_demand_over_bare_ms": 2,
}

# The issue's own figures when it was filed (its table), for the reader comparing with "before".
FILED = {
    "probe": "0.27–0.32 ms → 1.6–2.3 ms",
    "small": "36 ms (100 ms CFS period)",
    "crowd": "provided 14.7k vs 20.8k (c8), python 11.2k vs 15.3k, node 4.9k vs 13.8k per s",
    "burst": "provided 0.59 s, python 1.6 s, node 1.9 s",
    "functions": "2.5 s total, p50 1.78 s",
    "on_demand": "python 27 ms, node 43 ms (bare 14.7 / 24.2 ms)",
}


def _g(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _f(v, digits=2):
    return "–" if v is None else ("%.*f" % (digits, v))


def _n(v):
    return "–" if v is None else "{:,}".format(int(round(v)))


def _met(v, limit, above=False):
    if v is None:
        return "not measured"
    ok = v >= limit if above else v <= limit
    return "**met**" if ok else "**missed**"


def _rows(sc):
    """(figure, cell text, value judged, target text, limit, above?) per row of the issue."""
    rows = []
    p = _g(sc, "probe")
    rows.append(("warm p99 while cold starts run beside it (alone → beside N provided cold starts on demand)",
                 "%s → **%s ms** (N = %s)" % (_f(_g(p, "calm_ms", "p99"), 2), _f(_g(p, "during_ms", "p99"), 2),
                                              p["cold_starts"]) if p else None,
                 _g(p, "during_ms", "p99"), "≤ %s ms" % TARGETS["probe_during_p99_ms"],
                 TARGETS["probe_during_p99_ms"], False))
    sm = _g(sc, "small")
    rng = _g(sm, "p99_ms_range")
    rows.append(("128 MB python no-op, `wrk -t1 -c1` closed loop, p99 (median of runs; range)",
                 "**%s ms** (%s–%s)" % (_f(sm["p99_ms_median"]), _f(rng[0]), _f(rng[1])) if sm else None,
                 _g(sm, "p99_ms_median"), "≤ %s ms" % TARGETS["small_p99_ms"], TARGETS["small_p99_ms"], False))
    for key in RUNTIMES:
        row = _g(sc, "crowd", "rows", key)
        cell = None
        if row:
            best = str(row["best_level"])
            cell = "%s vs %s/s (c%s): **%s %%**" % (_n(row["64"]["rps"]), _n(row[best]["rps"]), best,
                                                  _f(row["c64_of_best_pct"], 0))
        rows.append(("throughput c64 against the best of c1…c64, %s" % key, cell, _g(row, "c64_of_best_pct"),
                     "≥ %d %%" % TARGETS["c64_of_best_pct"], TARGETS["c64_of_best_pct"], True))
    for key in RUNTIMES:
        row = _g(sc, "burst", "rows", key)
        cell = None
        if row:
            cell = "**%s s** (runs: %s)" % (_f(_ms_s(row["all_returned_ms_median"])),
                                            ", ".join(_f(_ms_s(x["all_returned_ms"])) for x in row["runs"]))
        rows.append(("100 concurrent first calls of a 100 ms handler from zero, %s: all answered "
                     "(median of runs)" % key, cell, _ms_s(_g(row, "all_returned_ms_median")),
                     "≤ %s s" % _f(BURST_TARGET_MS[key] / 1000.0, 1), BURST_TARGET_MS[key] / 1000.0, False))
    fn = _g(sc, "functions")
    rows.append(("200 cold starts of 200 distinct python functions at once: all answered (p50; median of runs)",
                 "**%s s** (p50 %s s)%s" % (_f(_ms_s(fn["all_returned_ms_median"])),
                                            _f(_ms_s(fn["median_returned_ms_median"])),
                                            "" if fn["functions"] == 200 else " ⚠ %d functions, not 200" % fn["functions"])
                 if fn else None,
                 _ms_s(_g(fn, "all_returned_ms_median")), "≤ %s s total" % _f(TARGETS["functions_all_returned_ms"] / 1000.0, 0),
                 TARGETS["functions_all_returned_ms"] / 1000.0, False))
    od = _g(sc, "on_demand")
    for key in ("python", "node"):
        row = _g(od, "rows", key)
        b = _g(od, "bare", BARE_FOR[key], "median")
        cell = None
        if row and row.get("total_ms"):
            cell = "%s ms = bare %s **%+.1f**" % (_f(row["total_ms"]["median"], 1), _f(b, 1), row["over_bare_ms"])
        rows.append(("%s cold start, no prestarted environment (`--prestart 0`), against `%s`" % (key, BARE_FOR[key]),
                     cell, _g(row, "over_bare_ms"), "≤ bare + %d ms" % TARGETS["on_demand_over_bare_ms"],
                     TARGETS["on_demand_over_bare_ms"], False))
    # The same daemon's python starts without its zygote (a binary that has one), for comparison.
    row = _g(od, "rows", "python_no_zygote")
    cell = None
    if row and row.get("total_ms"):
        cell = "%s ms = bare %s **%+.1f**" % (_f(row["total_ms"]["median"], 1),
                                             _f(_g(od, "bare", BARE_FOR["python"], "median"), 1), row["over_bare_ms"])
    rows.append(("python cold start as above without the zygote (`--no-zygote`), for comparison", cell, None,
                 "–", None, False))
    return rows


def _ms_s(v):
    return None if v is None else v / 1000.0


def _provenance(label, sc):
    run = _g(sc, "run") or {}
    return ("**%s**: %s, commit %s%s, %s, load average %s at its start%s" % (
        label, run.get("binary", "?"), run.get("lambent_commit", "?"),
        " + uncommitted changes in src/" if run.get("lambent_tree_dirty") else "",
        run.get("date", "?"), " ".join(run.get("loadavg_start") or []) or "?",
        "; a `--quick` run" if run.get("quick") else "") +
        ("; measured in the same run as %s, part by part, the two daemons taking turns" % run["paired_with"]
         if run.get("paired_with") else ""))


def render(after, before=None, nproc=2):
    """Lines of Markdown; `after` and `before` are scale sections (either may be None)."""
    if not after and not before:
        return []
    lines = []
    w = lines.append
    w("## Issue 10: bursts and crowds")
    w("")
    w("`bench/bench.py --only scale` (`bench/lib/scale.py`). **before**: the same section run against the "
      "daemon built before the issue-10 work; **after**: this run. Methods below the table.")
    w("")
    w("| figure | before | after | target | met? |")
    w("|---|---|---|---|---|")
    ra = _rows(after) if after else None
    rb = _rows(before) if before else None
    for i, row in enumerate(ra or rb):
        fig, _, _, target, limit, above = row
        cb = rb[i][1] if rb else None
        ca = ra[i][1] if ra else None
        judged = ra[i][2] if ra else None
        met = "–" if limit is None else _met(judged, limit, above) if ra else "not measured"
        w("| %s | %s | %s | %s | %s |" % (fig, cb or "–", ca or "–", target, met))
    w("")
    parts = ("on_demand", "probe", "small", "crowd", "burst", "functions")
    for label, sc in (("before", before), ("after", after)):
        if sc:
            busy = ", ".join("%s %d%%" % (p, round(100 * sc[p]["cpu_busy_before"])) for p in parts
                             if _g(sc, p, "cpu_busy_before") is not None)
            w("- %s; the section took %s s; cores busy just before each part (after waiting up to 8 s for "
              "the previous part's environments to be torn down): %s." % (_provenance(label, sc),
                                                                       _f(sc.get("elapsed_s"), 0), busy or "–"))
    w("- When the issue was filed (its table, measured by other methods before several of its "
      "changes): " + "; ".join("%s: %s" % kv for kv in FILED.items()) + ".")
    w("")
    _floors(w, after or before, nproc)
    _details(w, before, after)
    return lines


def _floors(w, sc, nproc):
    """What the interpreters alone cost: the CPU a burst of on-demand starts needs on this machine."""
    bare = _g(sc, "on_demand", "bare") or {}
    py, nd = _g(bare, "python3 -c pass", "median"), _g(bare, "node -e 0", "median")
    if py is None or nd is None:
        return
    n_fn = _g(sc, "functions", "functions") or 200
    n_b = _g(sc, "burst", "concurrency") or 100
    w("What the interpreters alone need on this machine (%d cores), if every environment of a burst "
      "starts its own: %d × `python3 -c pass` (%s ms) ÷ %d cores = **%s s**, %d × `node -e 0` (%s ms) ÷ %d "
      "= **%s s**, %d python starts = **%s s**, each with the cores doing nothing else (measured "
      "bare starts of this run). A target below that is reachable only by starting fewer "
      "interpreters (prestarted environments taken in advance, a zygote, or reusing environments that "
      "free up)."
      % (nproc, n_b, _f(py, 1), nproc, _f(n_b * py / 1000.0 / nproc), n_b, _f(nd, 1), nproc,
         _f(n_b * nd / 1000.0 / nproc), n_fn, _f(n_fn * py / 1000.0 / nproc)))
    w("")
    calm = _g(sc, "probe", "calm_ms", "p99")
    if calm is not None:
        w("The warm probe's p99 with nothing beside it was %s ms in the same run (its client is a python "
          "loop on a raw socket, which adds its own time to each call): a floor under the first row's figure." % _f(calm))
        w("")


def _details(w, before, after):
    pairs = [(label, sc) for label, sc in (("before", before), ("after", after)) if sc]
    method = _g(after or before, "method") or {}
    if any(_g(sc, "crowd") for _, sc in pairs):
        w("Throughput of one function per runtime, invocations/s (p99 µs) [environments the daemon had "
          "after the warm-up, all functions, prestarted ones included]. Method: %s; %s s runs."
          % (method.get("crowd", "?"), _g(after or before, "crowd", "seconds")))
        w("")
        w("| runtime | | " + " | ".join("c%d" % c for c in (1, 8, 16, 32, 64)) + " | c64 / best |")
        w("|---|---|" + "---:|" * 6)
        for key in RUNTIMES:
            for label, sc in pairs:
                row = _g(sc, "crowd", "rows", key)
                if not row:
                    continue
                cells = []
                for c in (1, 8, 16, 32, 64):
                    x = row.get(str(c))
                    cells.append("%s (%s)%s%s" % (_n(x["rps"]), _n(x["p99_us"]),
                                                  " [%s]" % x["environments"] if "environments" in x else "",
                                                  " ⚠ %d errors" % x["errors"] if x["errors"] else "")
                                 if x else "–")
                w("| %s | %s | %s | %s %% |" % (key, label, " | ".join(cells), _f(row["c64_of_best_pct"], 0)))
        w("")
    if any(_g(sc, "burst") for _, sc in pairs):
        w("Bursts of 100 from zero. Method: %s. Per run: first / median / last answer (ms), environments "
          "started, prestarted environments ready before the burst." % method.get("burst", "?"))
        w("")
        w("| runtime | | runs | environments started | prestarted ready | non-200 |")
        w("|---|---|---|---|---|---:|")
        for key in RUNTIMES:
            for label, sc in pairs:
                row = _g(sc, "burst", "rows", key)
                if not row:
                    continue
                w("| %s | %s | %s | %s | %s | %d |" % (
                    key, label, "; ".join("%s / %s / **%s**" % (_f(x["first_returned_ms"], 0), _f(x["median_returned_ms"], 0),
                                                                 _f(x["all_returned_ms"], 0)) for x in row["runs"]),
                    ", ".join(str(x["environments_created"]) for x in row["runs"]),
                    ", ".join(str(x["prestarted_ready_before"]) for x in row["runs"]),
                    sum(x["not_ok"] + x["missing"] for x in row["runs"])))
        w("")
    if any(_g(sc, "functions") for _, sc in pairs):
        w("Distinct functions at once. Method: %s. Per run: first / median / last answer (ms)."
          % method.get("functions", "?"))
        w("")
        w("| | functions | runs | environments started | non-200 |")
        w("|---|---:|---|---|---:|")
        for label, sc in pairs:
            fn = _g(sc, "functions")
            if fn:
                w("| %s | %d | %s | %s | %d |" % (
                    label, fn["functions"], "; ".join("%s / %s / **%s**" % (
                        _f(x["first_returned_ms"], 0), _f(x["median_returned_ms"], 0), _f(x["all_returned_ms"], 0))
                        for x in fn["runs"]),
                    ", ".join(str(x["environments_created"]) for x in fn["runs"]),
                    sum(x["not_ok"] + x["missing"] for x in fn["runs"])))
        w("")
    if any(_g(sc, "probe") for _, sc in pairs):
        w("Warm latency beside cold starts. Method: %s. Milliseconds." % method.get("probe", "?"))
        w("")
        w("| | probe alone: n / p50 / p99 / max | beside the cold starts: n / p50 / p99 / max | cold starts: n, "
          "median, over (s) |")
        w("|---|---|---|---|")
        for label, sc in pairs:
            p = _g(sc, "probe")
            if not p:
                continue
            def q(s):
                return "%s / %s / %s / %s" % (_g(s, "n"), _f(_g(s, "median"), 3), _f(_g(s, "p99"), 3), _f(_g(s, "max"), 2))
            w("| %s | %s | %s | %d, %s ms, %s s |" % (label, q(p["calm_ms"]), q(p["during_ms"]), p["cold_starts"],
                                                      _f(_g(p, "cold_starts_ms", "median")), _f(p["cold_starts_span_s"])))
        w("")
    if any(_g(sc, "small") for _, sc in pairs):
        w("128 MB python no-op. Method: %s. Per run: p50 / p99 µs, invocations/s." % method.get("small", "?"))
        w("")
        for label, sc in pairs:
            sm = _g(sc, "small")
            if sm:
                w("- %s: %s" % (label, "; ".join("%d / **%d** µs, %s/s" % (x["p50_us"], x["p99_us"], _n(x["rps"]))
                                                for x in sm["runs"])))
        w("")
    if any(_g(sc, "on_demand") for _, sc in pairs):
        opts = " ".join(_g(after or before, "on_demand", "daemon_options") or ["--prestart", "0"])
        w("Cold starts on demand (daemon options `%s`). Method: %s. Medians, ms: client-measured total, the runtime's start to its "
          "first /next (Init Duration), the daemon's timeline of environment creation (prepare + clone + init "
          "execve + sandbox setup), bare start." % (opts, method.get("on_demand", "?")))
        w("")
        w("| runtime | | n (prestarted) | total | Init Duration | environment creation | bare start |")
        w("|---|---|---:|---:|---:|---:|---:|")
        for key in ("python", "node"):
            for label, sc in pairs:
                od = _g(sc, "on_demand")
                row = _g(od, "rows", key)
                if not row or not row.get("total_ms"):
                    continue
                st = row.get("startup_ms") or {}
                made = sum(_g(st, k, "median") or 0 for k in ("PrepareMs", "CloneMs", "InitExecMs", "SandboxMs"))
                w("| %s | %s | %d (%d) | %s | %s | %s | %s |" % (
                    key, label, row["n"], row.get("prestarted") or 0, _f(row["total_ms"]["median"]), _f(_g(row, "init_duration_ms", "median")),
                    _f(made) if st else "–", _f(_g(od, "bare", BARE_FOR[key], "median"))))
        w("")
