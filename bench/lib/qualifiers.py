"""The qualifiers section of the benchmark (issue 11: versions, aliases and concurrency), run by
bench.py on its shared daemon.

One provided no-op function (1,769 MB: a full vCPU) with two published versions, an alias to
version 1 and an alias that splits calls between the two. wrk -t1 -c1 drives each way of
naming it in turns, ROUNDS times, so drift on the machine falls on all of them alike:

  latest     the unqualified name ($LATEST), the path every earlier figure measured
  version    name:1, a published version
  alias      name:live, an alias to version 1 (resolved on every call)
  weighted   name:split, an alias sending half the calls to version 2
  reserved   the unqualified name with reserved concurrency set (the accounting's other branch)

The alias's cost is its p50 over the version's (target: at most 5 µs). Concurrency accounting
runs on every call; its cost shows as `latest` against the warm latency figures of earlier runs.
Loopback only; every load is bounded in time.
"""

import statistics

ROUNDS = 3
NAME = "q-noop"
ALIAS_TARGET_US = 5


def _p50s(results):
    return [r["latency_us"]["p50"] for r in results]


def run(bench, log, quick):
    seconds = 1 if quick else 4
    rounds = 1 if quick else ROUNDS
    bench.create(NAME, "provided")
    api = bench.api
    v1 = api.json("POST", "/2015-03-31/functions/%s/versions" % NAME, {})["Version"]
    api.json("PUT", "/2015-03-31/functions/%s/configuration" % NAME,
             {"Environment": {"Variables": {"BENCH_VERSION": "2"}}})
    v2 = api.json("POST", "/2015-03-31/functions/%s/versions" % NAME, {})["Version"]
    api.json("POST", "/2015-03-31/functions/%s/aliases" % NAME, {"Name": "live", "FunctionVersion": v1})
    api.json("POST", "/2015-03-31/functions/%s/aliases" % NAME,
             {"Name": "split", "FunctionVersion": v1,
              "RoutingConfig": {"AdditionalVersionWeights": {v2: 0.5}}})
    base = "http://127.0.0.1:%d/2015-03-31/functions/" % bench.port
    targets = [
        ("latest", base + NAME + "/invocations"),
        ("version", base + NAME + "%3A" + v1 + "/invocations"),
        ("alias", base + NAME + "%3Alive/invocations"),
        ("weighted", base + NAME + "%3Asplit/invocations"),
    ]
    runs = dict((label, []) for label, _ in targets)
    runs["reserved"] = []
    for r in range(rounds):
        for label, url in targets:
            bench.warm(url, 1, 1)
            runs[label].append(bench.wrk.run(url, 1, 1, seconds, "qualifiers-%s-%d" % (label, r)))
        api.json("PUT", "/2017-10-31/functions/%s/concurrency" % NAME, {"ReservedConcurrentExecutions": 100})
        bench.warm(targets[0][1], 1, 1)
        runs["reserved"].append(bench.wrk.run(targets[0][1], 1, 1, seconds, "qualifiers-reserved-%d" % r))
        api.call("DELETE", "/2017-10-31/functions/%s/concurrency" % NAME)
    out = {"seconds_each": seconds, "rounds": rounds, "wrk": "-t1 -c1", "rows": {}}
    for label, results in runs.items():
        p50s = _p50s(results)
        row = {"p50_us": statistics.median(p50s), "p50_us_each": p50s,
               "p99_us": statistics.median([x["latency_us"]["p99"] for x in results]),
               "rps": round(statistics.median([x["rps"] for x in results]), 0),
               "errors": sum(x["non_2xx_or_socket_errors"] for x in results)}
        out["rows"][label] = row
        log("qualifiers %-9s p50 %6.1f us  p99 %6.1f us  %6.0f/s  errors %d"
            % (label, row["p50_us"], row["p99_us"], row["rps"], row["errors"]))
    rows = out["rows"]
    out["alias_over_version_us"] = rows["alias"]["p50_us"] - rows["version"]["p50_us"]
    out["weighted_over_version_us"] = rows["weighted"]["p50_us"] - rows["version"]["p50_us"]
    out["reserved_over_latest_us"] = rows["reserved"]["p50_us"] - rows["latest"]["p50_us"]
    out["target_alias_over_version_us"] = ALIAS_TARGET_US
    return out


def render(section, earlier_latency_p50_us=None):
    """Markdown lines for the section."""
    if not section:
        return []
    rows = section["rows"]
    lines = ["## Issue 11: versions, aliases and concurrency accounting on the warm path", "",
             "A provided no-op (1,769 MB), `wrk -t1 -c1`, %d s per way of naming it, %d rounds in turns; "
             "the median of the rounds' p50, with the rounds' range beside it: the difference between two ways "
             "of naming the function is only meaningful beyond that spread. Microseconds."
             % (section["seconds_each"], section["rounds"]), "",
             "| invoked as | p50 | p50 of each round | p99 | invocations/s | errors |",
             "|---|---:|---:|---:|---:|---:|"]
    names = {"latest": "`q-noop` ($LATEST)", "version": "`q-noop:1` (a version)", "alias": "`q-noop:live` (an alias)",
             "weighted": "`q-noop:split` (alias, 50/50 over two versions)",
             "reserved": "`q-noop` with reserved concurrency 100"}
    for key in ("latest", "version", "alias", "weighted", "reserved"):
        row = rows.get(key)
        if row:
            each = ", ".join("%.0f" % v for v in row["p50_us_each"])
            lines.append("| %s | %.0f | %s | %.0f | %.0f | %d |" % (names[key], row["p50_us"], each, row["p99_us"],
                                                                 row["rps"], row["errors"]))
    over = section["alias_over_version_us"]
    lines += ["", "| figure | measured | target |", "|---|---|---|",
              "| alias over version, p50 | %+.0f µs | ≤ %d µs: %s |"
              % (over, section["target_alias_over_version_us"],
                 "met" if over <= section["target_alias_over_version_us"] else "missed"),
              "| weighted alias over version, p50 | %+.0f µs | |" % section["weighted_over_version_us"],
              "| reserved concurrency set, over none, p50 | %+.0f µs | no loss |" % section["reserved_over_latest_us"]]
    if earlier_latency_p50_us:
        lines.append("| $LATEST here against the earlier warm-latency run's provided p50 (%d µs) | %+.0f µs | no loss |"
                     % (earlier_latency_p50_us, rows["latest"]["p50_us"] - earlier_latency_p50_us))
    spread = max(max(rows[k]["p50_us_each"]) - min(rows[k]["p50_us_each"]) for k in ("version", "alias"))
    lines += ["", "The same target's p50 moved by up to %.0f µs between rounds, so differences of that size "
              "between the rows are noise: the alias's own cost (a lookup under the registry's shared lock, "
              "tens of nanoseconds) is below what this machine's loopback latency can show." % spread, ""]
    return lines
