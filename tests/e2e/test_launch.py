"""Cold starts whose blocking half (mounts, cgroup, clone) runs on the daemon's launcher thread:
a start that fails there is answered like one that fails at once, and a daemon stopped while
starts are in flight ends every one of them."""

import base64
import json
import os
import re
import shutil
import signal
import threading
from pathlib import Path

import pytest

from conftest import processes_with_env, require_sandbox, wait_until

APP = "def handler(event, context):\n    return {'ok': True}\n"


@pytest.fixture(autouse=True)
def _sandbox(bin_dir, request):
    require_sandbox(bin_dir, request, "the launcher-thread tests")


@pytest.fixture
def daemon(make_daemon):
    # On demand only: every invocation below is a launch of its own.
    return make_daemon("--prestart", "0").start()


def environment_groups(daemon):
    """The environments' cgroup directories under this daemon's own group, from the start-up
    log ("cgroup v1: memory=DIR ..." or "cgroup v2: DIR")."""
    match = re.search(r"cgroup v1:.* memory=(\S+)|cgroup v2: (\S+)", daemon.log())
    assert match, daemon.log()
    parent = Path(match.group(1) or match.group(2))
    return sorted(p.name for p in parent.glob("env-*")) if parent.exists() else []


def test_a_start_that_fails_on_the_launcher_thread_is_answered_and_the_daemon_serves_on(daemon):
    created = daemon.create("ln-broken", {"app.py": APP})
    daemon.create("ln-fine", {"app.py": APP + "# another package\n"})
    # The package vanishes from under the daemon: the launcher thread cannot mount it.
    key = base64.b64decode(created["CodeSha256"]).hex()
    shutil.rmtree(daemon.data_dir / "code" / key)
    status, headers, body = daemon.invoke("ln-broken")
    assert status == 500, body
    assert "open_tree" in json.loads(body)["message"], body
    status, _, body = daemon.request("GET", "/lambent/v1/functions/ln-broken/environments")
    assert (status, json.loads(body)) == (200, {"Environments": []})
    # Nothing is left of the failed start, and the next one of another function works.
    assert wait_until(lambda: environment_groups(daemon) == [])
    status, _, body = daemon.invoke("ln-fine")
    assert (status, json.loads(body)) == (200, {"ok": True})


def test_a_daemon_stopped_during_a_burst_of_cold_starts_ends_them_all(daemon):
    marker = "ln-burst-" + base64.b16encode(os.urandom(6)).decode()
    daemon.create("ln-burst", {"app.py": APP}, Environment={"Variables": {"LAMBENT_TEST_MARKER": marker}})
    results = []

    def call():
        try:
            results.append(daemon.invoke("ln-burst", timeout=30)[0])
        except OSError:  # the daemon stopped before it answered
            results.append(None)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    # Some starts are on the launcher thread now, some queued behind it, some up already.
    wait_until(lambda: len(environment_groups(daemon)) >= 2, timeout=5, interval=0.005)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=15) == 0, daemon.log()
    for t in threads:
        t.join(30)
    assert wait_until(lambda: processes_with_env(marker) == [], timeout=10), processes_with_env(marker)
    assert wait_until(lambda: environment_groups(daemon) == [], timeout=10), environment_groups(daemon)
    assert len(results) == 12 and "uncaught" not in daemon.log(), (results, daemon.log())
