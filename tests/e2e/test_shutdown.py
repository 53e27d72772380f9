"""Stopping the daemon (`lambent serve --shutdown-grace`): SIGTERM stops accepting, lets the
invocations in flight finish and exits 0; calls that arrive afterwards are refused; a second
signal, or the end of the grace period, stops what is still running at once; and nothing of
the daemon's environments (process, cgroup, mount, loop device, temporary file) outlives it,
nor a SIGKILLed daemon's once it has been restarted. The leftover checks need sandboxed
environments (root); they are skipped without them unless CI=true."""

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import alive, descendants, processes_with_env, require_sandbox, wait_until

SLOW = '''\
import subprocess
import time


def handler(event, context):
    if event.get("spawn"):
        subprocess.Popen(["sleep", "300"])
    time.sleep(event.get("sleep", 0))
    return {"slept": event.get("sleep", 0), "request_id": context.aws_request_id}
'''


class Call(threading.Thread):
    """One invocation in the background: `status` and `body` once answered, or `error` when
    the connection failed (the daemon closed it or was gone)."""

    def __init__(self, daemon, name, event, timeout=60):
        super().__init__(daemon=True)
        self.daemon_under_test, self.name, self.event, self.timeout = daemon, name, event, timeout
        self.status = self.body = self.error = None
        self.start()

    def run(self):
        try:
            self.status, _, self.body = self.daemon_under_test.invoke(
                self.name, json.dumps(self.event).encode(), timeout=self.timeout)
        except OSError as e:
            self.error = e

    def succeeded(self):
        return self.status == 200 and json.loads(self.body).get("slept") == self.event.get("sleep")


def deploy(daemon, name, marker=None):
    config = {"Timeout": 120}
    if marker:
        config["Environment"] = {"Variables": {"LAMBENT_TEST_MARKER": marker}}
    daemon.create(name, {"app.py": SLOW}, **config)


def busy(daemon, name):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/environments")
    return status == 200 and sum(e["State"] == "busy" for e in json.loads(body)["Environments"])


def start_slow_calls(daemon, name, seconds, count=1, **event):
    """`count` invocations sleeping `seconds`, each running in an environment when this returns."""
    calls = [Call(daemon, name, {"sleep": seconds, **event}) for _ in range(count)]
    assert wait_until(lambda: busy(daemon, name) >= count, timeout=20), daemon.log()
    return calls


def wait_exit(daemon, timeout):
    """The daemon's exit code and how long it took to exit."""
    start = time.monotonic()
    code = daemon.proc.wait(timeout=timeout)
    return code, time.monotonic() - start


def sigterm_during_a_call(make_daemon, name, seconds, *flags):
    """SIGTERMs a daemon started with `flags` while a call of `seconds` runs on it; returns
    the daemon, its exit code, how long it took to exit, and the call, finished."""
    daemon = make_daemon("--prestart", "0", *flags).start()
    deploy(daemon, name)
    [call] = start_slow_calls(daemon, name, seconds)
    daemon.proc.send_signal(signal.SIGTERM)
    code, took = wait_exit(daemon, timeout=20)
    call.join(10)
    return daemon, code, took, call


# --- graceful stop ---------------------------------------------------------------------------

def test_sigterm_lets_a_call_in_flight_finish_and_the_daemon_exits_0(make_daemon):
    daemon, code, took, call = sigterm_during_a_call(make_daemon, "sd-finish", 2)
    assert code == 0, daemon.log()
    assert call.succeeded(), (call.status, call.body, call.error)
    # It waited for the call, not for the grace period (30 s).
    assert 0.5 < took < 10, took
    assert "every invocation has finished" in daemon.log()


def test_an_idle_daemon_stops_at_once_on_sigterm_and_sigint(make_daemon):
    for sig in (signal.SIGTERM, signal.SIGINT):
        daemon = make_daemon("--prestart", "0").start()
        deploy(daemon, "sd-idle")
        assert daemon.invoke("sd-idle", b"{}")[0] == 200
        daemon.proc.send_signal(sig)
        code, took = wait_exit(daemon, timeout=10)
        assert code == 0 and took < 3, (code, took, daemon.log())


def test_calls_arriving_after_sigterm_are_refused_while_the_one_in_flight_finishes(make_daemon):
    daemon = make_daemon("--prestart", "0").start()
    deploy(daemon, "sd-refuse")
    # A keep-alive connection opened before the stop, as an SDK keeps one.
    kept = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    kept.request("GET", "/2015-03-31/functions/sd-refuse")
    response = kept.getresponse()
    assert response.status == 200 and response.read()
    [call] = start_slow_calls(daemon, "sd-refuse", 3)
    daemon.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "signal 15: stopping" in daemon.log(), timeout=5), daemon.log()

    # A new connection is not accepted.
    with pytest.raises(OSError):
        daemon.invoke("sd-refuse", b'{"sleep": 0}', timeout=5)
    # One already open is answered 503, as Lambda answers a service that cannot take the call.
    try:
        kept.request("POST", "/2015-03-31/functions/sd-refuse/invocations", body=b'{"sleep": 0}')
        response = kept.getresponse()
        body = response.read()
        assert response.status == 503, (response.status, body)
        assert response.getheader("x-amzn-ErrorType") == "ServiceException", response.getheaders()
        assert "stopping" in json.loads(body)["message"], body
        # The admin reads still answer, to watch the drain.
        kept.request("GET", "/lambent/v1/status")
        response = kept.getresponse()
        assert response.status == 200 and json.loads(response.read())["host"]["running"] == 1
    except (http.client.HTTPException, OSError):
        pass  # or the connection is closed: the call is refused either way
    finally:
        kept.close()

    code, _ = wait_exit(daemon, timeout=20)
    call.join(10)
    assert code == 0, daemon.log()
    assert call.succeeded(), (call.status, call.body, call.error)


# --- forced stop -----------------------------------------------------------------------------

def test_a_second_sigterm_stops_the_calls_in_flight_at_once(make_daemon):
    daemon = make_daemon("--prestart", "0").start()
    deploy(daemon, "sd-second")
    calls = start_slow_calls(daemon, "sd-second", 60, count=2)
    daemon.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert daemon.proc.poll() is None, "the first SIGTERM must wait for the calls in flight"
    daemon.proc.send_signal(signal.SIGTERM)
    code, took = wait_exit(daemon, timeout=10)
    assert code == 0, daemon.log()
    assert took < 5, took
    for call in calls:
        call.join(10)
        assert not call.succeeded(), (call.status, call.body)
    assert "during the grace period" in daemon.log()


def test_the_end_of_the_grace_period_stops_a_call_longer_than_it(make_daemon):
    daemon, code, took, call = sigterm_during_a_call(make_daemon, "sd-grace", 60,
                                                     "--shutdown-grace", "1")
    assert code == 0, daemon.log()
    assert 0.9 < took < 6, took
    assert not call.succeeded(), (call.status, call.body)
    assert "the grace period is over" in daemon.log()


def test_a_zero_grace_period_stops_calls_at_the_first_signal(make_daemon):
    daemon, code, took, call = sigterm_during_a_call(make_daemon, "sd-zero", 60,
                                                     "--shutdown-grace", "0")
    assert code == 0 and took < 5, (code, took, daemon.log())
    assert not call.succeeded()


def test_serve_refuses_an_unreserved_floor_above_the_concurrency_limit(bin_dir, tmp_path):
    result = subprocess.run([str(bin_dir / "lambent"), "serve", "--data-dir", str(tmp_path / "d"),
                             "--concurrency-limit", "50", "--unreserved-concurrency-min", "100"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result
    assert "--unreserved-concurrency-min" in result.stderr and "--concurrency-limit" in result.stderr
    for bad in ("4X", "-1", "101%"):
        result = subprocess.run([str(bin_dir / "lambent"), "serve", "--data-dir", str(tmp_path / "d"),
                                 "--memory-budget", bad], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "--memory-budget" in result.stderr, (bad, result)


# --- nothing left behind ---------------------------------------------------------------------

@pytest.fixture
def sandboxed(bin_dir, request):
    require_sandbox(bin_dir, request, "the shutdown leftover checks")


def cgroup_dirs(daemon):
    """This daemon's own cgroup directories (one per v1 controller, or the v2 one), from its
    start-up log ("cgroup v1: freezer=DIR memory=DIR ..." or "cgroup v2: DIR")."""
    # The last start's: daemons restarted on one data directory share its log.
    matches = list(re.finditer(r"cgroup v1: ([^\n]*)|cgroup v2: (\S+)", daemon.log()))
    assert matches, daemon.log()
    match = matches[-1]
    if match.group(2):
        return [Path(match.group(2))]
    return [Path(part.split("=", 1)[1]) for part in match.group(1).split() if "=" in part]


def loop_devices(data_dir):
    """Loop devices whose backing file is in `data_dir` (disk-backed /tmp images), each with
    its diskseq: a freed device is soon reused for an image of the same path."""
    found = set()
    for entry in os.listdir("/sys/block"):
        try:
            with open(f"/sys/block/{entry}/loop/backing_file") as f:
                backing = f.read().strip()
            with open(f"/sys/block/{entry}/diskseq") as f:
                seq = f.read().strip()
        except OSError:
            continue
        if backing.startswith(str(data_dir)):
            found.add(f"loop device {entry} (diskseq {seq}) on {backing}")
    return found


def leftovers(daemon, pids, marker, groups, loops=None):
    """What is left of a stopped daemon: processes, cgroups, mounts, loop devices (only those
    of `loops` when given: a successor on the same data directory has its own), files."""
    found = []
    found += [f"process {p}" for p in alive(pids)]
    found += [f"process {p} (marker)" for p in processes_with_env(marker)]
    found += [f"cgroup {g}" for g in groups if g.exists()]
    data = str(daemon.data_dir)
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.strip()}" for line in f if data in line]
    now = loop_devices(daemon.data_dir)
    found += sorted(now if loops is None else now & loops)
    if loops is None:
        for scratch in ("spool", "tmp-images", "code/.tmp"):
            path = daemon.data_dir / scratch
            if path.is_dir():
                found += [f"file {p}" for p in path.iterdir()]
    return found


def busy_daemon(daemon, marker):
    """Deploys a function and leaves it with two environments busy and a forked `sleep` in
    each; returns every process below the daemon (spawner, watchdog, environments)."""
    deploy(daemon, "sd-leak", marker)
    start_slow_calls(daemon, "sd-leak", 60, count=2, spawn=True)
    # 2 x (lambent-init, runtime, sleep)
    assert wait_until(lambda: len(processes_with_env(marker)) >= 6, timeout=10), processes_with_env(marker)
    pids = descendants(daemon.proc.pid)
    assert set(processes_with_env(marker)) <= set(pids)
    return pids


def test_nothing_is_left_after_sigterm(make_daemon, sandboxed, marker):
    daemon = make_daemon("--shutdown-grace", "1").start()
    pids = busy_daemon(daemon, marker)
    groups = cgroup_dirs(daemon)
    assert all(g.exists() for g in groups), groups
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=15) == 0, daemon.log()
    assert wait_until(lambda: not leftovers(daemon, pids, marker, groups), timeout=15), \
        leftovers(daemon, pids, marker, groups)
    assert "uncaught" not in daemon.log()


def test_nothing_is_left_after_sigkill_and_a_restart(make_daemon, sandboxed, marker, tmp_path):
    data = tmp_path / "sd-killed"
    first = make_daemon(data_dir=data).start()
    pids = busy_daemon(first, marker)
    groups = cgroup_dirs(first)
    loops = loop_devices(data)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    # Environments die with the daemon (parent-death signal), its cgroups with its watchdog.
    assert wait_until(lambda: not alive(pids) and not processes_with_env(marker), timeout=15), \
        leftovers(first, pids, marker, groups)

    # What a daemon killed mid-write leaves: a half-extracted upload, a spooled body, a /tmp
    # image template (each normally unlinked or renamed at once).
    planted = [data / "code" / ".tmp" / "put-crashed" / "app.py", data / "spool" / "body-crashed",
               data / "tmp-images" / "template-crashed"]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left by a killed daemon")

    second = make_daemon("--shutdown-grace", "1", data_dir=data).start()
    # Whatever the killed daemon left is gone once its successor is up.
    assert wait_until(lambda: not leftovers(first, pids, marker, groups, loops), timeout=10), \
        leftovers(first, pids, marker, groups, loops)
    assert [p for p in planted if p.exists()] == []
    status, _, body = second.invoke("sd-leak", b'{"sleep": 0}')
    assert status == 200, body
    pids2 = descendants(second.proc.pid)
    groups2 = cgroup_dirs(second)
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=15) == 0, second.log()
    assert wait_until(lambda: not leftovers(second, pids2, marker, groups2), timeout=15), \
        leftovers(second, pids2, marker, groups2)
