#!/usr/bin/python3
"""lambent's benchmark (issue 3). Run through bench/run.sh, which builds the native pieces,
installs the peer and snapshots the daemon binaries; this script orchestrates the runs.

Sections (all by default, or --only a,b,...):
  machine    nproc, kernel, CPU, compiler, load average
  bare       bare interpreter start (python3 -c pass, node -e 0, /bin/true): hyperfine if
             installed, else a posix_spawn timing loop
  latency    warm invoke latency at concurrency 1 (wrk -t1 -c1) per runtime, the direct
             baseline for each, and the peer (serverless-offline) for node
  throughput invocations/s at concurrency 1, 8, 64 (closed loop, wrk) for lambent per runtime,
             the baselines and the peer
  cold       cold start per runtime: UpdateFunctionConfiguration (retires the warm
             environment), then one timed invoke with the log tail (Init Duration, Duration)
  scaleup    100 concurrent invocations of a 100 ms function from zero environments
  memory     daemon RSS growth per idle environment, lambent-init RSS/PSS, runtime RSS/PSS
  tmp        cold start with /tmp on disk against --tmpfs-tmp (lib/isolation.py)
  freeze     thaw latency, first invoke after idling frozen or not, warm load with freezing
             on and off (lib/isolation.py)
  scale      issue 10's rows: warm latency beside cold starts, a 128 MB function's tail,
             throughput c1..c64, bursts from zero, 200 distinct functions at once, on-demand
             cold starts against the bare interpreter (lib/scale.py)
  async      issue 12's rows: Event invocations accepted per second and the 202's latency, and
             the rate at which they are delivered to a no-op function (lib/async_events.py)
  sqs        issue 12's SQS rows: SendMessage and ReceiveMessage + DeleteMessage(Batch) rates and
             per-call latency, beside sqslite (npm) and NATS JetStream run here (lib/sqs.py)
  qualifiers issue 11's rows: warm latency invoked as $LATEST, a version, an alias, a weighted
             alias, and with reserved concurrency set (lib/qualifiers.py)
  urls       issue 13's rows: a node no-op through a BUFFERED function URL, the Invoke API and
             serverless-offline's HTTP route (latency at c1, throughput at c1/c8/c64), and a
             streamed response's first byte and end through a RESPONSE_STREAM URL and
             InvokeWithResponseStream (lib/urls.py)

An --only run of some sections is merged into the results file it writes (the sections it
did not run are kept, each with the run it came from); --before adds a saved run's scale
section to the report as the "before" column.

Only loopback; every run is bounded in time. Python stdlib only.
"""

import argparse
import base64
import datetime
import http.client
import io
import json
import os
import platform
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import isolation  # noqa: E402  (bench/lib)
import scale  # noqa: E402
import qualifiers  # noqa: E402
import async_events  # noqa: E402
import sqs  # noqa: E402
import urls  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ALL_SECTIONS = ("bare", "latency", "throughput", "cold", "scaleup", "memory", "tmp", "freeze", "scale",
                "qualifiers", "async", "sqs", "urls")

TARGETS = {
    "warm_overhead_p50_us": 100,
    "warm_overhead_p99_us": 1000,
    "throughput_provided_per_s": 20000,
    "cold_provided_median_ms": 10,
    "cold_interpreted_over_bare_ms": 5,
    "idle_env_platform_mib": 2,
    "sandbox_floor_ms": 2.3,  # issue 4: namespaces + pivot_root + exec 1.8, cgroup 0.1, seccomp 0.4
}

RUNTIMES = {
    # key: (lambent runtime id, handler prefix); handlers: noop, sleep100, sleep3000
    "provided": ("provided.al2023", ""),
    "python": ("python3.11", "handler."),
    "node": ("nodejs20.x", "handler."),
}


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def cpu_busy(seconds=0.5):
    """Share of all cores busy (user+nice+system+irq+softirq+steal) over `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v[:8]), idle
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return round(1.0 - (i1 - i0) / float(max(1, t1 - t0)), 3)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(values, q):
    """Nearest-rank percentile, q in [0, 100]."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(q / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def summary(values, digits=3):
    if not values:
        return None
    return {
        "n": len(values),
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "mean": round(statistics.mean(values), digits),
        "p90": round(percentile(values, 90), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
    }


# ------------------------------------------------------------------------------------------
# Processes the benchmark starts (and only those are stopped, by pid / own process group).
# ------------------------------------------------------------------------------------------

class Procs(object):
    def __init__(self):
        self.procs = []

    def start(self, argv, log_path, cwd=None, env=None):
        out = open(log_path, "ab")
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=3.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # its own session: the group we created
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


PROCS = Procs()


def wait_port(port, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %d after %ss" % (port, timeout))


# ------------------------------------------------------------------------------------------
# HTTP helpers
# ------------------------------------------------------------------------------------------

class Api(object):
    """Keep-alive client for the daemon's Lambda API."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, headers=None):
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                return r.status, r.getheaders(), r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise

    def json(self, method, path, body=None, ok=(200, 201, 202, 204)):
        status, _, data = self.call(method, path, body)
        if status not in ok:
            raise RuntimeError("%s %s -> %d %s" % (method, path, status, data[:300]))
        return json.loads(data) if data else None


def zip_dir(directory):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _, files in os.walk(directory):
            for f in sorted(files):
                full = os.path.join(root, f)
                info = zipfile.ZipInfo(os.path.relpath(full, directory), (2024, 1, 1, 0, 0, 0))
                info.external_attr = (os.stat(full).st_mode & 0o777 | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as fh:
                    z.writestr(info, fh.read())
    return buf.getvalue()


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def smaps_rollup(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0].endswith(":") and parts[2] == "kB":
                    out[parts[0][:-1]] = int(parts[1])
    except OSError:
        return None
    return out


def children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    kids.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return sorted(set(kids))


# ------------------------------------------------------------------------------------------
# wrk
# ------------------------------------------------------------------------------------------

class Wrk(object):
    def __init__(self, script, log_dir):
        self.script = script
        self.log_dir = log_dir
        self.runs = 0

    def run(self, url, connections, threads, seconds, label, headers=()):
        self.runs += 1
        argv = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency",
                "--timeout", "5s", "-s", self.script]
        for header in headers:
            argv += ["-H", header]
        argv.append(url)
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            raise RuntimeError("wrk did not finish: %s" % " ".join(argv))
        with open(os.path.join(self.log_dir, "wrk-%02d-%s.txt" % (self.runs, label)), "w") as f:
            f.write(" ".join(argv) + "\n" + p.stdout + p.stderr)
        for line in p.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                r = json.loads(line[len("BENCH_JSON "):])
                r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
                r["connections"] = connections
                r["threads"] = threads
                r["seconds"] = seconds
                r["non_2xx_or_socket_errors"] = sum(r["errors"].values())
                return r
        raise RuntimeError("wrk gave no result (%s): %s %s" % (label, p.stdout[-500:], p.stderr[-500:]))


# ------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------

class Bench(object):
    def __init__(self, args):
        self.args = args
        self.cache = os.path.abspath(args.cache)
        self.work = os.path.join(self.cache, "run")
        self.logs = os.path.join(self.work, "logs")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.logs)
        self.wrk = Wrk(os.path.join(HERE, "lib", "post.lua"), self.logs)
        self.results = {"schema": 1, "quick": args.quick, "sections": {}}
        self.daemon = None
        self.port = None
        self.api = None
        self.functions = {}

    # -- timing knobs ---------------------------------------------------------------------
    @property
    def lat_s(self):
        return 1 if self.args.quick else self.args.latency_seconds

    @property
    def tput_s(self):
        return 1 if self.args.quick else self.args.throughput_seconds

    def warm(self, url, connections, threads):
        return self.wrk.run(url, connections, threads, 1, "warmup")

    # -- daemon -----------------------------------------------------------------------------
    def start_daemon(self, tag="main", extra_args=()):
        data = os.path.join(self.work, "data-" + tag)
        self.port = free_port()
        self.daemon = PROCS.start(
            [self.args.lambent, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", data,
             *extra_args],
            os.path.join(self.logs, "daemon-%s.log" % tag))
        wait_port(self.port, self.daemon, 20)
        self.api = Api(self.port)
        self.functions = {}
        log("daemon %s: pid %d on 127.0.0.1:%d (%s)" % (tag, self.daemon.pid, self.port, self.args.lambent))

    def serve_help(self):
        """`lambent serve --help` of the daemon binary in use (what options it has)."""
        helps = self.__dict__.setdefault("_serve_help", {})
        if self.args.lambent not in helps:
            try:
                helps[self.args.lambent] = subprocess.run([self.args.lambent, "serve", "--help"], capture_output=True,
                                                          text=True, timeout=10).stdout
            except (OSError, subprocess.TimeoutExpired):
                helps[self.args.lambent] = ""
        return helps[self.args.lambent]

    def no_prestart_flags(self):
        """Daemon options under which every environment starts on demand: --prestart 0, and
        --prestart-max 0 where the daemon has it (a pool it sizes itself after bursts)."""
        flags = ["--prestart", "0"]
        if "--prestart-max" in self.serve_help():
            flags += ["--prestart-max", "0"]
        return flags

    def swap_daemon(self, saved=None):
        """Saves the current daemon's handles (saved=None) or restores them."""
        if saved is None:
            return (self.daemon, self.port, self.api, self.functions)
        self.daemon, self.port, self.api, self.functions = saved

    def invoke_url(self, name):
        return "http://127.0.0.1:%d/2015-03-31/functions/%s/invocations" % (self.port, name)

    def function_dir(self, key):
        if key == "provided":
            return self.args.native_dir
        return os.path.join(HERE, "handlers", key)

    def create(self, name, key, handler="noop", memory=1769):
        if name in self.functions:
            return name
        runtime, prefix = RUNTIMES[key]
        body = {
            "FunctionName": name,
            "Runtime": runtime,
            "Handler": prefix + handler,
            "Role": "arn:aws:iam::000000000000:role/bench",
            # 1,769 MB buys one full vCPU (Lambda's rule, which the sandbox's CPU quota
            # enforces): at 128 MB the quota, not the platform, would set every figure.
            "MemorySize": memory,
            "Timeout": 30,
            "Code": {"ZipFile": base64.b64encode(zip_dir(self.function_dir(key))).decode()},
        }
        self.api.json("POST", "/2015-03-31/functions", body)
        deadline = time.time() + 30
        while time.time() < deadline:
            cfg = self.api.json("GET", "/2015-03-31/functions/%s/configuration" % name)
            if cfg.get("State", "Active") == "Active":
                break
            time.sleep(0.05)
        self.functions[name] = key
        return name

    @staticmethod
    def runtime_id(key):
        return RUNTIMES[key][0]

    def invoke(self, name, payload=b"{}", tail=False, typ=None):
        headers = {}
        if tail:
            headers["X-Amz-Log-Type"] = "Tail"
        if typ:
            headers["X-Amz-Invocation-Type"] = typ
        t0 = time.perf_counter()
        status, hdrs, body = self.api.call("POST", "/2015-03-31/functions/%s/invocations" % name, payload, headers)
        t1 = time.perf_counter()
        return status, dict((k.lower(), v) for k, v in hdrs), body, (t1 - t0) * 1000.0

    def environments(self):
        return self.api.json("GET", "/lambent/v1/health").get("environments")

    def retire(self, name, tag):
        """UpdateFunctionConfiguration: a new revision; the warm environments are stopped."""
        t0 = time.perf_counter()
        self.api.json("PUT", "/2015-03-31/functions/%s/configuration" % name,
                      {"Environment": {"Variables": {"BENCH_REVISION": str(tag)}}})
        return (time.perf_counter() - t0) * 1000.0

    # -- sections ---------------------------------------------------------------------------
    def machine(self):
        def sh(cmd):
            try:
                return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
            except Exception:
                return ""
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
        m = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nproc": os.cpu_count(),
            "kernel": platform.release(),
            "cpu": cpu,
            "memory_gib": round(mem_kb / 1048576.0, 1),
            "compiler": sh("g++ --version | head -1"),
            "wrk": sh("wrk -v 2>&1 | head -1"),
            "python": sh("/usr/bin/python3 --version"),
            "node": sh("node --version"),
            "lambent_commit": sh("git -C %s rev-parse --short HEAD" % REPO),
            "lambent_tree_dirty": bool(sh("git -C %s status --porcelain -- src" % REPO)),
            "loadavg_start": open("/proc/loadavg").read().split()[:3],
            # Before the benchmark starts anything: what else is using the machine.
            "cpu_busy_before_start": cpu_busy(1.0),
            "note": "client (wrk / python), daemon, runtimes, baselines and peer share all cores; nothing is pinned",
        }
        self.results["machine"] = m

    def bare(self):
        """Bare process start of the interpreters the daemon runs, and of a trivial binary."""
        n = 10 if self.args.quick else 50
        out = {"tool": None, "runs": n, "results": {},
               "environment": "PATH, LANG and TZ only, as the daemon gives runtimes (no NODE_OPTIONS, "
                              "NODE_EXTRA_CA_CERTS or PYTHON* from the caller)"}
        # What the daemon passes to runtimes; the caller's environment can change start-up a lot
        # (NODE_EXTRA_CA_CERTS alone adds ~30 ms to node's).
        out["results"] = self.bare_measure(("python3 -c pass", "node -e 0", "/bin/true"), n, out)
        self.results["sections"]["bare"] = out

    def bare_measure(self, labels, n, out=None):
        """Start times (summary, ms) of the named cases; out["tool"] is set to the tool used."""
        cases = {
            "python3 -c pass": ["/usr/bin/python3", "-c", "pass"],
            "node -e 0": [shutil.which("node") or "/usr/bin/node", "-e", "0"],
            "/bin/true": ["/bin/true"],
        }
        out = out if out is not None else {}
        results = {}
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}
        hyperfine = shutil.which("hyperfine")
        for label in labels:
            argv = cases[label]
            if hyperfine:
                out["tool"] = "hyperfine"
                jpath = os.path.join(self.work, "hyperfine.json")
                subprocess.run([hyperfine, "-N", "--warmup", "3", "--runs", str(n), "--export-json", jpath,
                                " ".join(argv)], capture_output=True, timeout=120, env=env)
                with open(jpath) as f:
                    times = [t * 1000.0 for t in json.load(f)["results"][0]["times"]]
            else:
                out["tool"] = "posix_spawn loop (hyperfine not installed)"
                times = []
                devnull = os.open(os.devnull, os.O_RDWR)
                fa = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                      (os.POSIX_SPAWN_DUP2, devnull, 2)]
                for i in range(n + 3):
                    t0 = time.perf_counter()
                    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
                    os.waitpid(pid, 0)
                    if i >= 3:
                        times.append((time.perf_counter() - t0) * 1000.0)
                os.close(devnull)
            results[label] = summary(times)
            log("bare %-16s median %.2f ms" % (label, results[label]["median"]))
        return results

    def start_baselines(self):
        if getattr(self, "baselines", None):
            return self.baselines
        b = {}
        port = free_port()
        p = PROCS.start([self.args.baseline_server, str(port), "noop"], os.path.join(self.logs, "baseline-native.log"))
        wait_port(port, p, 10)
        b["provided"] = port
        port = free_port()
        p = PROCS.start(["/usr/bin/python3", os.path.join(HERE, "baseline", "server.py"), str(port),
                         os.path.join(HERE, "handlers", "python"), "noop"],
                        os.path.join(self.logs, "baseline-python.log"))
        wait_port(port, p, 10)
        b["python"] = port
        port = free_port()
        p = PROCS.start([shutil.which("node") or "/usr/bin/node", os.path.join(HERE, "baseline", "server.js"),
                         str(port), os.path.join(HERE, "handlers", "node", "handler.js"), "noop"],
                        os.path.join(self.logs, "baseline-node.log"))
        wait_port(port, p, 10)
        b["node"] = port
        self.baselines = b
        return b

    def baseline_url(self, key):
        return "http://127.0.0.1:%d/" % self.baselines[key]

    def start_peer(self):
        if getattr(self, "peer", None) is not None:
            return self.peer
        self.peer = False
        peer_dir = self.args.peer_dir
        entry = os.path.join(peer_dir, "node_modules", "serverless", "bin", "serverless.js")
        if not peer_dir or not os.path.exists(entry):
            log("peer: serverless-offline is not installed; skipping the peer rows")
            self.results["peer_error"] = "serverless-offline not installed in %s" % peer_dir
            return False
        lambda_port, http_port, ws_port = free_port(), free_port(), free_port()
        with open(os.path.join(HERE, "peer", "serverless.yml")) as f:
            yml = f.read()
        yml = yml.replace("lambdaPort: 3002", "lambdaPort: %d" % lambda_port)
        yml = yml.replace("httpPort: 3000", "httpPort: %d, websocketPort: %d" % (http_port, ws_port))
        with open(os.path.join(peer_dir, "serverless.yml"), "w") as f:
            f.write(yml)
        shutil.copy(os.path.join(HERE, "handlers", "node", "handler.js"), os.path.join(peer_dir, "handler.js"))
        env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off",
                   SLS_DEPRECATION_DISABLE="*")
        t0 = time.perf_counter()
        p = PROCS.start([shutil.which("node") or "/usr/bin/node", entry, "offline", "start"],
                        os.path.join(self.logs, "peer-serverless-offline.log"), cwd=peer_dir, env=env)
        wait_port(lambda_port, p, 60)
        ready = (time.perf_counter() - t0) * 1000.0
        url = "http://127.0.0.1:%d/2015-03-31/functions/bench-dev-noop/invocations" % lambda_port
        c = http.client.HTTPConnection("127.0.0.1", lambda_port, timeout=30)
        t0 = time.perf_counter()
        c.request("POST", "/2015-03-31/functions/bench-dev-noop/invocations", b"{}")
        r = c.getresponse()
        body = r.read()
        first = (time.perf_counter() - t0) * 1000.0
        c.close()
        if r.status != 200:
            raise RuntimeError("peer invoke failed: %d %r" % (r.status, body[:200]))
        self.peer = {"url": url, "http_port": http_port, "proc": p, "versions": self.peer_versions(),
                     "startup_ms": round(ready, 1), "first_invoke_ms": round(first, 2)}
        log("peer serverless-offline on %d: listening after %.0f ms, first invoke %.1f ms"
            % (lambda_port, ready, first))
        return self.peer

    def peer_versions(self):
        v = {}
        for pkg in ("serverless", "serverless-offline"):
            try:
                with open(os.path.join(self.args.peer_dir, "node_modules", pkg, "package.json")) as f:
                    v[pkg] = json.load(f)["version"]
            except OSError:
                pass
        return v

    def latency(self):
        s = self.lat_s
        out = {"seconds": s, "wrk": "-t1 -c1", "rows": {}}
        self.start_baselines()
        for key in ("provided", "python", "node"):
            name = self.create("noop-" + key, key)
            url = self.invoke_url(name)
            self.warm(url, 1, 1)
            lam = self.wrk.run(url, 1, 1, s, "latency-lambent-" + key)
            self.warm(self.baseline_url(key), 1, 1)
            base = self.wrk.run(self.baseline_url(key), 1, 1, s, "latency-baseline-" + key)
            row = {"lambent": lam, "baseline": base, "overhead_us": {}, "ratio": {},
                   "report_duration_us": self.report_durations(name)}
            for q in ("p50", "p90", "p99", "p99_9", "max"):
                a, b = lam["latency_us"][q], base["latency_us"][q]
                row["overhead_us"][q] = a - b
                row["ratio"][q] = round(a / b, 2) if b else None
            out["rows"][key] = row
            log("latency %-8s lambent p50 %d p99 %d us | baseline p50 %d p99 %d us"
                % (key, lam["latency_us"]["p50"], lam["latency_us"]["p99"],
                   base["latency_us"]["p50"], base["latency_us"]["p99"]))
        peer = self.start_peer()
        if peer:
            self.warm(peer["url"], 1, 1)
            out["peer_node"] = self.wrk.run(peer["url"], 1, 1, s, "latency-peer-node")
            log("latency peer     p50 %d p99 %d us" % (out["peer_node"]["latency_us"]["p50"],
                                                       out["peer_node"]["latency_us"]["p99"]))
        self.results["sections"]["latency"] = out

    def report_durations(self, name, lines=3000):
        """The REPORT lines' Duration (event handed to the runtime's /next until its /response,
        as the daemon measures it) of the last invocations: the runtime's share of a warm invoke."""
        time.sleep(0.3)  # the daemon flushes function logs every 200 ms
        status, _, body = self.api.call("GET", "/lambent/v1/functions/%s/logs?tail=%d" % (name, lines))
        if status != 200:
            return None
        vals = [float(m) * 1000.0 for m in re.findall(r"REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", body.decode())]
        return summary(vals, 1)

    def wrk_threads(self, connections):
        return 1 if connections == 1 else 2

    def throughput(self):
        s = self.tput_s
        levels = tuple(int(x) for x in self.args.levels.split(","))
        out = {"seconds": s, "levels": list(levels),
               "wrk_threads": dict((str(c), self.wrk_threads(c)) for c in levels),
               "note": "closed loop: wrk keeps C requests in flight on C keep-alive connections; "
                       "wrk uses 1 thread at c1 and 2 threads (= all cores, shared with the server) above",
               "rows": {}}
        self.start_baselines()
        targets = []
        for key in ("provided", "python", "node"):
            targets.append(("lambent-" + key, self.invoke_url(self.create("noop-" + key, key))))
        for key in ("provided", "python", "node"):
            targets.append(("baseline-" + key, self.baseline_url(key)))
        peer = self.start_peer() if not self.args.targets or "peer-node" in self.args.targets else None
        if peer:
            targets.append(("peer-node", peer["url"]))
        if self.args.targets:
            wanted = self.args.targets.split(",")
            targets = [t for t in targets if t[0] in wanted]
        for label, url in targets:
            row = {}
            for c in levels:
                t = self.wrk_threads(c)
                self.warm(url, c, t)
                r = self.wrk.run(url, c, t, s, "throughput-%s-c%d" % (label, c))
                row[str(c)] = r
                log("throughput %-18s c%-3d %8.0f/s  p50 %d us p99 %d us errors %d"
                    % (label, c, r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"],
                       r["non_2xx_or_socket_errors"]))
            out["rows"][label] = row
        if self.daemon:
            out["environments_after"] = self.environments()
            # Free the idle environments of the noop functions before the next sections.
            retire = {}
            for key in ("provided", "python", "node"):
                if "noop-" + key in self.functions:
                    retire[key] = round(self.retire("noop-" + key, "after-throughput"), 1)
            out["retire_idle_after_ms"] = retire
            log("throughput: %s environments were left; retiring them took %s ms"
                % (out["environments_after"], retire))
            time.sleep(0.5)
        self.results["sections"]["throughput"] = out

    def cold(self):
        """Cold starts of each runtime. python and node twice: with the prestarted environment
        the daemon keeps for a kind of function it has cold-started before (its default), and
        in a second daemon with --prestart 0, where every environment starts on demand."""
        n = {"provided": 100, "python": 60, "node": 60}
        if self.args.quick:
            n = {"provided": 10, "python": 5, "node": 5}
        gap = 0.03
        out = {"method": "UpdateFunctionConfiguration (new revision retires the warm environment), "
                         "a %d ms pause (prestarted rows: and until a prestarted environment of the "
                         "function's kind is ready), then one invoke with X-Amz-Log-Type: Tail, timed by "
                         "the client (python http.client, keep-alive); then one warm invoke the same way"
                         % (gap * 1000),
               "rows": {}}
        for key in ("provided", "python", "node"):
            out["rows"][key] = self.cold_series(key, n[key], gap, prestarted=key != "provided")
        main_daemon = self.swap_daemon()
        self.start_daemon("cold-on-demand", self.no_prestart_flags())
        for key in ("python", "node"):
            out["rows"][key + "-on-demand"] = self.cold_series(key, n[key], gap, prestarted=False)
        PROCS.stop(self.daemon)
        self.swap_daemon(main_daemon)
        out["breakdown"] = {
            "startup_ms": "the daemon's timeline of the environment (GET /lambent/v1/functions/NAME/"
                          "environments), init's steps on the same monotonic clock: "
                          "PrepareMs (code and runtime mounts detached, cgroup made), "
                          "CloneMs (clone into the namespaces, id maps, cgroup join), "
                          "InitExecMs (execve of lambent-init until its main), "
                          "SandboxMs (mounts, pivot_root, limits, capabilities, seccomp), "
                          "RuntimeExecMs (fork and execve of the runtime), "
                          "RuntimeInitMs (runtime start and handler import until its first /next; "
                          "prestarted: the function's variables and handler import), "
                          "AssignMs (prestarted: limits set, code mounted by init, init locked down), "
                          "TotalMs (all of them)",
            "Init Duration": "REPORT line: as Lambda's, the runtime's execve (prestarted: the "
                             "environment's assignment) until its first /next",
            "Duration": "REPORT line: event delivered to /next until /response",
            "rest": "client-measured total minus Init Duration and Duration: API, scheduling, the "
                    "sandbox and the HTTP hops",
        }
        self.results["sections"]["cold"] = out

    def prestarted_ready(self, name, timeout=3.0):
        """Waits until the daemon has a prestarted environment the function can take."""
        cfg = self.api.json("GET", "/2015-03-31/functions/%s/configuration" % name)
        deadline = time.time() + timeout
        while time.time() < deadline:
            envs = self.api.json("GET", "/lambent/v1/prestarted").get("Environments", [])
            if any(e["State"] == "prestarted" and e["Runtime"] == cfg["Runtime"]
                   and (cfg["Runtime"].startswith("python") or e["MemorySize"] == cfg["MemorySize"])
                   for e in envs):
                return True
            time.sleep(0.005)
        return False

    def cold_series(self, key, count, gap, prestarted):
        rx_init = re.compile(r"Init Duration: ([0-9.]+) ms")
        rx_dur = re.compile(r"\tDuration: ([0-9.]+) ms")
        name = self.create("cold-" + key, key)
        total, init, dur, other, warm, retire_ms = [], [], [], [], [], []
        phases = {}
        failures = taken = 0
        for i in range(count + 2):
            retire_ms.append(self.retire(name, "cold-%d" % i))
            time.sleep(gap)
            if prestarted and i > 0 and not self.prestarted_ready(name):
                log("cold %s #%d: no prestarted environment within 3 s" % (key, i))
            status, hdrs, body, ms = self.invoke(name, tail=True)
            tail = base64.b64decode(hdrs.get("x-amz-log-result", "")).decode(errors="replace")
            m_init, m_dur = rx_init.search(tail), rx_dur.search(tail)
            if status != 200 or not m_init or "x-amz-function-error" in hdrs:
                failures += 1
                log("cold %s #%d: status %d, tail %r" % (key, i, status, tail[-300:]))
                continue
            _, _, _, wms = self.invoke(name)
            if i < 2:
                continue  # the first start of a new package may page in files; not counted
            startup, was_prestarted = self.startup_of(name)
            taken += was_prestarted
            for phase, value in startup.items():
                phases.setdefault(phase, []).append(value)
            total.append(ms)
            init.append(float(m_init.group(1)))
            dur.append(float(m_dur.group(1)) if m_dur else 0.0)
            other.append(ms - init[-1] - dur[-1])
            warm.append(wms)
        row = {
            "n": len(total), "failures": failures, "prestarted": taken,
            "total_ms": summary(total),
            "init_duration_ms": summary(init),
            "invoke_duration_ms": summary(dur),
            "rest_ms": summary(other),
            "warm_invoke_same_client_ms": summary(warm),
            "update_configuration_ms": summary(retire_ms),
            "startup_ms": dict((k, summary(v)) for k, v in phases.items()),
        }
        if total:
            log("cold %-8s %s n=%d (%d prestarted) median %.2f ms p99 %.2f ms (init %.2f, rest %.2f)"
                % (key, "prestarted" if prestarted else "on demand", len(total), taken,
                   row["total_ms"]["median"], row["total_ms"]["p99"],
                   row["init_duration_ms"]["median"], row["rest_ms"]["median"]))
            log("cold %-8s startup medians: %s" % (key, ", ".join(
                "%s %.2f" % (k, v["median"]) for k, v in row["startup_ms"].items())))
        return row

    def startup_of(self, name):
        """The startup timeline of the function's newest environment, in ms per phase, and
        whether it was prestarted."""
        status, _, body = self.api.call("GET", "/lambent/v1/functions/%s/environments" % name)
        if status != 200:
            return {}, False
        envs = json.loads(body).get("Environments", [])
        if not envs:
            return {}, False
        phases = dict((k, v) for k, v in envs[-1].get("Startup", {}).items() if isinstance(v, (int, float)))
        return phases, bool(envs[-1].get("Prestarted"))

    def burst(self, name, n, timeout=60.0):
        """n invocations at once, each on its own pre-connected keep-alive connection; `name`
        is one function or a list of n (one invocation each)."""
        names = [name] * n if isinstance(name, str) else list(name)
        reqs = [("POST /2015-03-31/functions/%s/invocations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" % (fn, self.port)).encode()
                for fn in names]
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(s)
        sel = selectors.DefaultSelector()
        state = {}
        t0 = time.perf_counter()
        for s, req in zip(socks, reqs):
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            state[s] = [b"", None]
        done_at, statuses = [], []
        remaining = n
        deadline = time.time() + timeout
        while remaining and time.time() < deadline:
            for k, _ in sel.select(1.0):
                s = k.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                st = state[s]
                st[0] += data
                head_end = st[0].find(b"\r\n\r\n")
                finished = not data
                if head_end >= 0:
                    head = st[0][:head_end].decode("latin-1")
                    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
                    if m and len(st[0]) - head_end - 4 >= int(m.group(1)):
                        finished = True
                if finished:
                    done_at.append((time.perf_counter() - t0) * 1000.0)
                    try:
                        statuses.append(int(st[0].split(b" ", 2)[1]))
                    except (IndexError, ValueError):
                        statuses.append(0)
                    sel.unregister(s)
                    remaining -= 1
        for s in socks:
            s.close()
        sel.close()
        return done_at, statuses, remaining

    def with_probe(self, action):
        """Runs action() while a second connection invokes the warm noop-provided function back
        to back; returns action's result and the probe's latencies (ms) during it."""
        import threading
        name = self.create("noop-provided", "provided")
        self.invoke(name)
        stop = threading.Event()

        def probe():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            path = "/2015-03-31/functions/%s/invocations" % name
            while not stop.is_set():
                t0 = time.perf_counter()
                conn.request("POST", path, b"{}", {"Content-Type": "application/json"})
                conn.getresponse().read()
                spans.append((t0, time.perf_counter()))
            conn.close()

        spans = []
        th = threading.Thread(target=probe)
        th.start()
        time.sleep(0.1)
        a0 = time.perf_counter()
        try:
            result = action()
        finally:
            a1 = time.perf_counter()
            time.sleep(0.05)
            stop.set()
            th.join(30)
        during = [(e - b) * 1000.0 for b, e in spans if e > a0 and b < a1]
        calm = [(e - b) * 1000.0 for b, e in spans if e <= a0]
        return result, {"n": len(during), "max_ms": round(max(during), 2) if during else None,
                        "median_before_ms": round(statistics.median(calm), 3) if calm else None}

    def scaleup(self):
        n = 20 if self.args.quick else 100
        repeats = 1 if self.args.quick else 3
        out = {"concurrency": n, "repeats": repeats,
               "method": "%d connections opened first, then the %d requests sent back to back from one "
                         "python thread; time until the last response; before each repeat an "
                         "UpdateFunctionConfiguration leaves zero environments" % (n, n),
               "rows": {}}
        for key in ("provided", "python", "node"):
            name = self.create("sleep-" + key, key, "sleep100")
            runs = []
            for r in range(repeats):
                retire_ms = self.retire(name, "scale-%d" % r)
                time.sleep(0.5)  # let the killed environments' teardown finish
                before = self.environments()
                done_at, statuses, missing = self.burst(name, n)
                ok = sum(1 for s in statuses if s == 200)
                after = self.environments()
                runs.append({
                    "all_returned_ms": round(max(done_at), 1) if done_at and not missing else None,
                    "first_returned_ms": round(min(done_at), 1) if done_at else None,
                    "median_returned_ms": round(statistics.median(done_at), 1) if done_at else None,
                    "ok": ok, "not_ok": len(statuses) - ok, "missing": missing,
                    "environments_created": after - before,
                    "retire_previous_ms": round(retire_ms, 2),
                })
                log("scaleup %-8s #%d: all %d returned after %s ms (ok %d, envs +%d; retiring the "
                    "previous ones took %.1f ms)" % (key, r, n, runs[-1]["all_returned_ms"], ok,
                                                      after - before, retire_ms))
            done = [x["all_returned_ms"] for x in runs if x["all_returned_ms"] is not None]
            out["rows"][key] = {"runs": runs, "all_returned_ms_median": statistics.median(done) if done else None}
            # The environments are idle now: time retiring them, while another client invokes a
            # warm function of its own back to back (does anything else stall meanwhile?).
            t, probe = self.with_probe(lambda: self.retire(name, "scale-final"))
            out["rows"][key]["retire_idle"] = {"environments": n, "update_configuration_ms": round(t, 2),
                                               "concurrent_warm_invokes": probe}
            log("scaleup %-8s retiring %d idle environments: UpdateFunctionConfiguration %.1f ms; a warm "
                "invoke of another function meanwhile took up to %.2f ms (%d invokes)"
                % (key, n, t, probe["max_ms"] or 0, probe["n"]))
            time.sleep(0.3)
        self.results["sections"]["scaleup"] = out

    def pipelined_events(self, name, n):
        """n Event invocations pipelined on ONE connection: all queued within a few ms."""
        path = "/2015-03-31/functions/%s/invocations" % name
        req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Amz-Invocation-Type: Event\r\n"
               "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" % (path, self.port)).encode()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(req * n)
        data, seen = b"", 0
        while seen < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            seen = len(re.findall(rb"HTTP/1\.1 202", data))
        s.close()
        if seen < n:
            raise RuntimeError("only %d of %d Event invocations were accepted" % (seen, n))

    def memory(self):
        k = 20 if self.args.quick else 100
        out = {"environments_requested": k,
               "method": "environments made by %d Event invocations of a 3 s function, pipelined on "
                         "ONE keep-alive connection (no extra client sessions in the daemon); daemon "
                         "VmRSS before and after; lambent-init and runtime from /proc/PID/smaps_rollup"
                         % k,
               "rows": {}}
        main_daemon = self.swap_daemon()
        for key in ("provided", "python", "node"):
            # A fresh daemon per runtime: memory freed by earlier sections (or runtimes) would
            # be reused by the allocator and hide the growth.
            self.start_daemon("memory-" + key)
            daemon_pid = self.daemon.pid
            name = self.create("mem-" + key, key, "sleep3000")
            out.setdefault("daemon_rss_fresh_kib", {})[key] = rss_kb(daemon_pid)
            # One synchronous invoke first, so per-function one-time allocations are not counted.
            self.invoke(name)
            self.retire(name, "mem-2")
            time.sleep(0.5)
            before_envs = self.environments()
            before_rss = rss_kb(daemon_pid)
            before_kids = set(children(daemon_pid))
            self.pipelined_events(name, k)
            # Every event holds its environment for 3 s, so each starts one; wait until all
            # have started and finished (the count stops changing, then 3.5 s more).
            deadline = time.time() + 60
            last, stable_since = -1, time.time()
            while time.time() < deadline:
                time.sleep(0.25)
                now = self.environments()
                if now != last:
                    last, stable_since = now, time.time()
                elif now - before_envs >= k or time.time() - stable_since > 1.0:
                    break
            time.sleep(3.5)
            envs = self.environments() - before_envs
            after_rss = rss_kb(daemon_pid)
            inits = [p for p in children(daemon_pid) if p not in before_kids]
            init_rss, init_pss, init_priv, rt_rss, rt_pss = [], [], [], [], []
            for pid in inits:
                sm = smaps_rollup(pid)
                if sm:
                    init_rss.append(sm.get("Rss", 0))
                    init_pss.append(sm.get("Pss", 0))
                    init_priv.append(sm.get("Private_Clean", 0) + sm.get("Private_Dirty", 0))
                for rt in children(pid):
                    sm = smaps_rollup(rt)
                    if sm:
                        rt_rss.append(sm.get("Rss", 0))
                        rt_pss.append(sm.get("Pss", 0))
            per_env_daemon_kib = (after_rss - before_rss) / float(envs) if envs else None
            init_pss_avg = statistics.mean(init_pss) if init_pss else None
            platform_kib = (per_env_daemon_kib or 0) + (init_pss_avg or 0)
            row = {
                "environments": envs,
                "daemon_rss_before_kib": before_rss, "daemon_rss_after_kib": after_rss,
                "daemon_rss_per_env_kib": round(per_env_daemon_kib, 1) if per_env_daemon_kib is not None else None,
                "init_processes": len(inits),
                "init_rss_kib": summary(init_rss, 1), "init_pss_kib": summary(init_pss, 1),
                "init_private_kib": summary(init_priv, 1),
                "runtime_rss_kib": summary(rt_rss, 1), "runtime_pss_kib": summary(rt_pss, 1),
                "platform_per_env_kib": round(platform_kib, 1),
                "idle_envs_per_gib_platform_only": int(1048576 / platform_kib) if platform_kib > 0 else None,
            }
            out["rows"][key] = row
            log("memory %-8s %d envs: daemon +%.1f KiB/env, init PSS %.1f KiB, runtime PSS %s KiB -> "
                "%.1f KiB platform/env, %s per GiB"
                % (key, envs, per_env_daemon_kib or 0, init_pss_avg or 0,
                   row["runtime_pss_kib"]["median"] if row["runtime_pss_kib"] else "?", platform_kib,
                   row["idle_envs_per_gib_platform_only"]))
            PROCS.stop(self.daemon)
        self.swap_daemon(main_daemon)
        self.results["sections"]["memory"] = out

    # -- driver -----------------------------------------------------------------------------
    def tmp(self):
        self.results["sections"]["tmp"] = isolation.tmp(self, PROCS, log, self.args.quick)

    def freeze(self):
        self.results["sections"]["freeze"] = isolation.freeze(self, PROCS, log, self.args.quick)

    def scale(self):
        after, before = scale.run(self, PROCS, log, self.args.quick, self.args.before_lambent or None)
        self.results["sections"]["scale"] = after
        self.before_scale = before

    def async_(self):
        self.results["sections"]["async"] = async_events.run(self, log, self.args.quick)

    def sqs(self):
        self.results["sections"]["sqs"] = sqs.run(self, PROCS, log, self.args.quick, wait_port, free_port)

    def qualifiers(self):
        self.results["sections"]["qualifiers"] = qualifiers.run(self, log, self.args.quick)

    def urls(self):
        self.results["sections"]["urls"] = urls.run(self, log, self.args.quick, wait_port)

    def binary_label(self):
        """The daemon under test, named relative to the repository (never by a machine path)."""
        if self.args.binary_label:
            return self.args.binary_label
        rel = os.path.relpath(self.args.lambent, REPO)
        return rel if not rel.startswith("..") else "lambent (a build outside the repository)"

    def run(self, sections):
        self.machine()
        if self.args.commit_label:
            self.results["machine"]["lambent_commit"] = self.args.commit_label
            self.results["machine"]["lambent_tree_dirty"] = False
        t_start = time.time()
        if "bare" in sections:
            self.bare()
        # scale starts daemons of its own.
        needs_daemon = set(sections) & {"latency", "throughput", "cold", "scaleup", "memory", "tmp", "freeze",
                                         "qualifiers", "async", "sqs", "urls"}
        if needs_daemon:
            self.start_daemon()
        for name in ("latency", "qualifiers", "async", "sqs", "urls", "throughput", "cold", "scaleup", "memory",
                     "tmp", "freeze", "scale"):
            if name in sections:
                # Idle-state sample first: the benchmark's own processes are idle here, so
                # this is mostly other work on the machine.
                busy, load = cpu_busy(0.5), open("/proc/loadavg").read().split()[:3]
                t = time.time()
                getattr(self, name + "_" if name == "async" else name)()
                self.results["sections"][name]["elapsed_s"] = round(time.time() - t, 1)
                self.results["sections"][name]["cpu_busy_before"] = busy
                self.results["sections"][name]["loadavg_before"] = load
        # Where each section came from, kept when a later --only run is merged with this one.
        run = {"date": self.results["machine"]["date"], "only": ",".join(sections),
               "lambent_commit": self.results["machine"]["lambent_commit"],
               "lambent_tree_dirty": self.results["machine"]["lambent_tree_dirty"],
               "binary": self.binary_label(), "quick": self.args.quick,
               "loadavg_start": self.results["machine"]["loadavg_start"],
               "cpu_busy_before_start": self.results["machine"]["cpu_busy_before_start"]}
        for name in self.results["sections"]:
            self.results["sections"][name]["run"] = run
        if getattr(self, "before_scale", None):
            # The older daemon's half of a paired scale run: a results file of its own, the shape a
            # separate run of the section against it would have written.
            sec = self.before_scale
            sec.update(elapsed_s=self.results["sections"]["scale"]["elapsed_s"],
                       run=dict(run, binary=self.args.before_label, lambent_commit=self.args.before_commit,
                                lambent_tree_dirty=False, paired_with=run["binary"]))
            machine = dict(self.results["machine"], lambent_commit=self.args.before_commit, lambent_tree_dirty=False)
            self.before_results = {"schema": 1, "quick": self.args.quick, "sections": {"scale": sec},
                                   "machine": machine, "daemon": {"binary": self.args.before_label},
                                   "note": "measured in the same run as %s, part by part, the two daemons "
                                           "taking turns" % run["binary"]}
        if getattr(self, "peer", None):
            self.results["peer"] = {"name": "serverless-offline", "versions": self.peer["versions"],
                                    "startup_ms": self.peer["startup_ms"],
                                    "first_invoke_ms": self.peer["first_invoke_ms"]}
        if self.daemon:
            self.results["daemon"] = {"pid": self.daemon.pid, "rss_end_kib": rss_kb(self.daemon.pid),
                                      "binary": self.binary_label()}
        else:
            self.results["daemon"] = {"binary": self.binary_label()}
        self.results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        self.results["elapsed_s"] = round(time.time() - t_start, 1)
        self.results["targets"] = TARGETS


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lambent", required=True, help="the lambent binary (lambent-init beside it)")
    ap.add_argument("--native-dir", required=True, help="function dir holding the built native bootstrap")
    ap.add_argument("--baseline-server", required=True, help="the built native baseline server")
    ap.add_argument("--peer-dir", default="", help="serverless-offline project with node_modules")
    ap.add_argument("--cache", required=True, help="scratch directory (build/bench-cache)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--docs", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--only", default=",".join(ALL_SECTIONS))
    ap.add_argument("--quick", action="store_true", help="1 s load runs and few samples (development)")
    ap.add_argument("--levels", default="1,8,64", help="throughput concurrency levels")
    ap.add_argument("--targets", default="", help="throughput rows to run (default all), e.g. lambent-provided,peer-node")
    ap.add_argument("--latency-seconds", type=int, default=10)
    ap.add_argument("--throughput-seconds", type=int, default=5)
    ap.add_argument("--before", default=os.path.join(HERE, "results", "issue10-before.json"),
                    help="a saved run whose scale section is the report's 'before' column (if it exists)")
    ap.add_argument("--no-merge", action="store_true",
                    help="an --only run replaces the results file instead of being merged into it")
    ap.add_argument("--binary-label", default="", help="how the results name the daemon under test")
    ap.add_argument("--before-lambent", default="", help="an older daemon binary: the scale section runs "
                    "against it too, part by part in turns with --lambent, and writes its half to --before")
    ap.add_argument("--before-label", default="the daemon built before issue 10",
                    help="how the results name --before-lambent")
    ap.add_argument("--before-commit", default="not given", help="the commit --before-lambent was built from")
    ap.add_argument("--commit-label", default="", help="the commit the daemon under test was built from "
                    "(default: the repository's HEAD)")
    args = ap.parse_args()
    for attr in ("lambent", "native_dir", "baseline_server", "peer_dir", "cache", "out", "docs", "before",
                 "before_lambent"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))

    def on_signal(signum, _frame):
        raise SystemExit("stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in ALL_SECTIONS]
    if unknown:
        ap.error("unknown section(s) %s; known: %s" % (",".join(unknown), ",".join(ALL_SECTIONS)))
    bench = Bench(args)
    try:
        bench.run(sections)
    finally:
        PROCS.stop_all()
    import report
    results = bench.results
    if set(ALL_SECTIONS) - set(sections) and not args.no_merge and os.path.exists(args.out):
        with open(args.out) as f:
            results = report.merge(json.load(f), bench.results)
        log("merged this run's sections (%s) into %s" % (",".join(sections), args.out))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=False)
        f.write("\n")
    log("results: %s" % args.out)
    if getattr(bench, "before_results", None) and args.before:
        with open(args.before, "w") as f:
            json.dump(bench.before_results, f, indent=2, sort_keys=False)
            f.write("\n")
        log("before: %s" % args.before)
    if not args.no_docs:
        before = None
        if args.before and os.path.exists(args.before) and os.path.abspath(args.before) != os.path.abspath(args.out):
            with open(args.before) as f:
                before = json.load(f)
        with open(args.docs, "w") as f:
            f.write(report.render(results, before=before))
        log("report: %s" % args.docs)


if __name__ == "__main__":
    main()
