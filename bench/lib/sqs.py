"""The sqs section of the benchmark (issue 12: the SQS-compatible queue), run by bench.py on its
shared daemon (`--durability process`), side by side with two peers started here on loopback:

  sqslite    an SQS emulator from npm (in memory), driven by the same client as lambent
  JetStream  Debian's nats-server, a stream with file storage and work-queue retention, through
             the `nats` npm client: the durable-queue anchor

The client is lib/sqs_driver.js, one node process per phase with a fixed number of workers, each
keeping one call outstanding. For lambent and sqslite it speaks the SQS query protocol over
keep-alive HTTP (sqslite speaks nothing else); lambent is also driven over the JSON protocol.
Phases, each bounded in count and time, run target by target in turns (two queues per target):

  send c1        SendMessage, one worker: the per-call latency
  send c16       SendMessage, 16 workers: messages/s
  fill           SendMessage of 10,000 messages to a second queue (not reported)
  receive c16    ReceiveMessage (1 message) + DeleteMessage, 16 workers: half of those
  receive10 c16  ReceiveMessage (up to 10) + DeleteMessageBatch, 16 workers: the rest (JetStream:
                 fetch of 10, each acked with a confirmation)

The server's CPU time per phase comes from /proc. The npm packages are installed once into the
bench cache (bench/peer/sqs/package.json); nats-server is a Debian package (apt-get install
nats-server). The peers are stopped at the end of the section.
"""

import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_PACKAGE = os.path.join(os.path.dirname(HERE), "peer", "sqs", "package.json")
DRIVER = os.path.join(HERE, "sqs_driver.js")
BODY_BYTES = 100
CONCURRENCY = 16
BACKLOG = 10000

TARGETS = (
    # key, what it is, how the driver reaches it
    ("lambent", "lambent, query protocol", "query"),
    ("sqslite", "sqslite (npm), query protocol", "query"),
    ("jetstream", "NATS JetStream (nats-server), file storage", None),
    ("lambent-json", "lambent, JSON protocol", "json"),
)
# sqslite 2.1.1's DeleteMessageBatch keeps the listed messages and deletes every other one, and one
# receipt handle covers all the messages of a receive: its batch phase would count wrong.
SKIP = {"sqslite": {"receive10_c16": "sqslite's DeleteMessageBatch deletes the messages it is not given and "
                                      "keeps those it is"}}


def _phases(quick):
    """(name, queue, phase): the sends go to one queue; the receives drain another, filled first
    with BACKLOG messages, so that every target receives from the same depth (sqslite's receive
    costs time in proportion to it)."""
    seconds = 1 if quick else 3
    backlog = 2000 if quick else BACKLOG
    return [
        ("send_c1", "send", {"op": "send", "concurrency": 1, "count": 500 if quick else 3000, "seconds": seconds}),
        ("send_c16", "send", {"op": "send", "concurrency": CONCURRENCY, "count": 5000 if quick else 40000,
                              "seconds": 2 * seconds}),
        ("fill", "receive", {"op": "send", "concurrency": CONCURRENCY, "count": backlog, "seconds": 30}),
        ("receive_c16", "receive", {"op": "receive", "concurrency": CONCURRENCY, "batch": 1, "count": backlog // 2,
                                    "seconds": 2 * seconds}),
        ("receive10_c16", "receive", {"op": "receive", "concurrency": CONCURRENCY, "batch": 10, "count": "rest",
                                      "seconds": 2 * seconds}),
    ]


def ensure_peers(cache, log):
    """The npm packages in cache/sqs-peers (installed when missing or when package.json changed)."""
    target = os.path.join(cache, "sqs-peers")
    ready = os.path.isdir(os.path.join(target, "node_modules", "sqslite")) and \
        os.path.isdir(os.path.join(target, "node_modules", "nats"))
    same = os.path.exists(os.path.join(target, "package.json")) and \
        open(os.path.join(target, "package.json")).read() == open(PEER_PACKAGE).read()
    if ready and same:
        return target, None
    log("sqs: installing sqslite and nats into %s (npm)" % target)
    os.makedirs(target, exist_ok=True)
    shutil.copy(PEER_PACKAGE, os.path.join(target, "package.json"))
    with open(os.path.join(target, "npm-install.log"), "wb") as out:
        try:
            rc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target,
                                stdout=out, stderr=subprocess.STDOUT, timeout=600).returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            rc = repr(e)
    if rc != 0:
        return target, "npm install failed (%s; see %s/npm-install.log)" % (rc, target)
    return target, None


def _cpu_s(pid):
    """utime + stime of a process (all its threads), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _drive(node_path, config, timeout):
    env = dict(os.environ, NODE_PATH=os.path.join(node_path, "node_modules"))
    try:
        p = subprocess.run([shutil.which("node") or "/usr/bin/node", DRIVER, json.dumps(config)], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "the driver did not finish in %d s" % timeout}
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "no result from the driver: %s %s" % (p.stdout[-300:], p.stderr[-300:])}


def _run_phase(key, target, name, queue, phase, node_path, log):
    """One phase against one target; target = {"base", "pid", "row", "depth"} is updated."""
    row, depth = target["row"], target["depth"]
    if "error" in row:
        return
    if name in SKIP.get(key, {}):
        row["phases"][name] = {"skipped": SKIP[key][name]}
        return
    phase = dict(phase, bytes=BODY_BYTES)
    if phase["count"] == "rest":
        phase["count"] = depth.get(queue, 0)
    config = dict(target["base"], phases=[phase], reset=queue not in depth)
    if config["kind"] == "nats":
        config["stream"] += "-" + queue
    else:
        config["queue"] += "-" + queue
    cpu0 = _cpu_s(target["pid"])
    result = _drive(node_path, config, phase["seconds"] + 60)
    cpu1 = _cpu_s(target["pid"])
    if "error" in result:
        row["error"] = result["error"]
        log("sqs %-12s %s: %s" % (key, name, result["error"][:300]))
        return
    r = result["phases"][0]
    if cpu0 is not None and cpu1 is not None:
        r["server_cpu_s"] = round(cpu1 - cpu0, 3)
        r["server_cpu_us_per_message"] = round((cpu1 - cpu0) * 1e6 / r["messages"], 1) if r["messages"] else None
    row["phases"][name] = r
    depth[queue] = depth.get(queue, 0) + (r["messages"] if r["op"] == "send" else -r["messages"])
    lat, dele = r["latency_us"] or {}, r["delete_latency_us"] or {}
    log("sqs %-12s %-13s %6d msgs %7d/s  p50 %5s us p99 %6s us%s  errors %d  client cpu %.2f s, server %s s"
        % (key, name, r["messages"], r["per_s"], lat.get("p50"), lat.get("p99"),
           "  delete p50 %s p99 %s us" % (dele.get("p50"), dele.get("p99")) if dele else "",
           r["errors"], r["client_cpu_s"], r.get("server_cpu_s")))


def run(bench, procs, log, quick, wait_port, free_port):
    section = {"client": "bench/lib/sqs_driver.js on node %s, each phase %d workers (1 for the first) keeping "
                         "one call outstanding each" % (_node_version(), CONCURRENCY),
               "body_bytes": BODY_BYTES, "quick": quick, "nproc": os.cpu_count(),
               "backlog": 2000 if quick else BACKLOG, "targets": {}}
    node_path, err = ensure_peers(bench.cache, log)
    servers = {"lambent": (bench.daemon.pid, {"kind": "sqs", "endpoint": "http://127.0.0.1:%d/" % bench.port})}
    servers["lambent-json"] = servers["lambent"]
    peers = []
    if err:
        section["peer_error"] = err
        log("sqs: %s; the peer rows will be missing" % err)
    else:
        port = free_port()
        p = procs.start([shutil.which("node") or "/usr/bin/node",
                         os.path.join(node_path, "node_modules", "sqslite", "bin", "cli.js"),
                         "--host", "127.0.0.1", "--port", str(port)],
                        os.path.join(bench.logs, "peer-sqslite.log"))
        peers.append(p)
        try:
            wait_port(port, p, 20)
            # sqslite recognises its queue URLs only with the host named localhost.
            servers["sqslite"] = (p.pid, {"kind": "sqs", "endpoint": "http://localhost:%d/" % port})
        except RuntimeError as e:
            section["targets"]["sqslite"] = {"error": str(e)}
    nats = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
    if nats:
        port = free_port()
        store = os.path.join(bench.work, "jetstream")
        p = procs.start([nats, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
                        os.path.join(bench.logs, "peer-nats-server.log"))
        peers.append(p)
        try:
            wait_port(port, p, 20)
            servers["jetstream"] = (p.pid, {"kind": "nats", "url": "127.0.0.1:%d" % port, "stream": "bench"})
            section["nats_server"] = subprocess.run([nats, "--version"], capture_output=True, text=True,
                                                    timeout=10).stdout.strip()
        except RuntimeError as e:
            section["targets"]["jetstream"] = {"error": str(e)}
    else:
        section["targets"]["jetstream"] = {"error": "nats-server is not installed (apt-get install nats-server)"}
    versions = os.path.join(node_path, "node_modules")
    for pkg in ("sqslite", "nats"):
        try:
            with open(os.path.join(versions, pkg, "package.json")) as f:
                section.setdefault("versions", {})[pkg] = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
    targets = {}
    for key, label, protocol in TARGETS:
        if key not in servers:
            section["targets"].setdefault(key, {"error": "not started"})
            continue
        pid, base = servers[key]
        base = dict(base)
        if protocol:
            base.update(protocol=protocol, queue="bench-" + key)
        section["targets"][key] = {"label": label, "phases": {}}
        targets[key] = {"base": base, "pid": pid, "row": section["targets"][key], "depth": {}}
    # Phase by phase, the targets in turns: drift in what else the machine does falls on all alike.
    try:
        for name, queue, phase in _phases(quick):
            for key in targets:
                _run_phase(key, targets[key], name, queue, phase, node_path, log)
    finally:
        for p in peers:
            procs.stop(p)
    return section


def _node_version():
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# ------------------------------------------------------------------------------------------ report

ROWS = (
    ("send_c1", "SendMessage, 1 worker"),
    ("send_c16", "SendMessage, %d workers" % CONCURRENCY),
    ("receive_c16", "ReceiveMessage (1) + DeleteMessage, %d workers" % CONCURRENCY),
    ("receive10_c16", "ReceiveMessage (10) + DeleteMessageBatch, %d workers" % CONCURRENCY),
)


def _cell(row, phase):
    r = (row or {}).get("phases", {}).get(phase)
    if r is None:
        return "–"
    if "skipped" in r:
        return "n/a¹"
    lat = r.get("latency_us") or {}
    text = "**{:,}/s**; {:.2f} / {:.2f} ms".format(r["per_s"], lat.get("p50", 0) / 1000.0, lat.get("p99", 0) / 1000.0)
    dele = r.get("delete_latency_us")
    if dele:
        text += "; delete {:.2f} / {:.2f} ms".format(dele["p50"] / 1000.0, dele["p99"] / 1000.0)
    if r.get("server_cpu_us_per_message") is not None and r.get("messages"):
        text += "; CPU/msg {:.0f} µs server, {:.0f} µs client".format(
            r["server_cpu_us_per_message"], r["client_cpu_s"] * 1e6 / r["messages"])
    if r.get("errors"):
        text += "; %d errors" % r["errors"]
    return text


def render(section):
    if not section:
        return []
    targets = section.get("targets", {})
    keys = [k for k, _, _ in TARGETS]
    labels = dict((k, (targets.get(k) or {}).get("label") or label) for k, label, _ in TARGETS)
    out = [
        "## Issue 12: the SQS-compatible queue beside sqslite and NATS JetStream", "",
        "Messages of %d bytes. The client (%s) is the same for lambent and sqslite, the SQS query "
        "protocol over keep-alive HTTP; lambent is also driven over the JSON protocol, and NATS JetStream "
        "(%s; a stream with file storage and work-queue retention) through the `nats` npm client (%s): "
        "publish awaiting the stream's acknowledgement, fetch without waiting, ack awaiting confirmation "
        "(one per message: JetStream has no batch ack for this). "
        "Each cell: messages per second; per-call latency p50 / p99; CPU time per message of the server "
        "and of the client (the two share the machine's %s cores). The receive rows drain a second queue "
        "filled with %s messages first (half each), so every target receives from the same depth; a message "
        "counts once its deletion (ack) is answered; the latencies are the receive call's, then the delete "
        "call's. lambent "
        "runs `--durability process` (SQLite WAL, no disk sync per commit); JetStream's file store does not "
        "sync the disk per message either (it syncs periodically); sqslite keeps messages in memory only."
        % (section.get("body_bytes", BODY_BYTES), section.get("client", "lib/sqs_driver.js"),
           section.get("nats_server", "nats-server"), "nats " + section.get("versions", {}).get("nats", "?"),
           section.get("nproc", "?"), "{:,}".format(section.get("backlog", BACKLOG))),
        "",
        "| | " + " | ".join(labels[k] for k in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for phase, label in ROWS:
        out.append("| %s | %s |" % (label, " | ".join(_cell(targets.get(k), phase) for k in keys)))
    notes = []
    for k in keys:
        err = (targets.get(k) or {}).get("error")
        if err:
            notes.append("%s: not measured or stopped early: %s" % (labels[k], err[:300].replace("\n", " ")))
    out.append("")
    out.append("¹ Not measured: %s (sqslite %s)." % (SKIP["sqslite"]["receive10_c16"],
                                                     section.get("versions", {}).get("sqslite", "?")))
    for note in notes:
        out.extend(["", note])
    out.append("")
    return out
