"""What the daemon keeps on disk and in the kernel stays bounded and goes with what it
belonged to: a function's log is capped (rotated, newest kept), a deleted function's log and
code package go with it (a package another function or a running environment uses stays),
a DeleteFunction the registry cannot store is a 500 that leaves the function whole, and a
daemon killed with SIGKILL leaves no cgroup directories behind. Tests that need root (cgroups,
a small file system) skip without it, except under CI=true where that is a failure."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import alive, descendants, require_sandbox, wait_until

FUNCTIONS = "/2015-03-31/functions"

CHATTY = '''
import sys

def handler(event, context):
    n = event["lines"]
    for i in range(n):
        sys.stdout.write("chatty %d of call %s %s\\n" % (i, event["call"], "x" * 80))
    sys.stdout.write("done with call %s\\n" % event["call"])
    sys.stdout.flush()
    return "ok"
'''

# Reads a file of its package only after a while, as a lazy import does.
LAZY = '''
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    with open("later.txt") as f:
        return f.read()
'''


def require_root(what):
    if os.geteuid() == 0:
        return
    message = f"{what} needs root (euid {os.geteuid()})"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: it must run in CI)", pytrace=False)
    pytest.skip(message)


def log_files(data_dir):
    logs = Path(data_dir) / "logs"
    return sorted(p.name for p in logs.iterdir()) if logs.exists() else []


def packages(data_dir):
    return sorted(p.name for p in (Path(data_dir) / "code").iterdir() if p.name != ".tmp")


def invoke(daemon, name, event):
    status, _, body = daemon.invoke(name, json.dumps(event).encode())
    assert status == 200, (status, body)
    return json.loads(body)


def delete(daemon, name):
    status, _, body = daemon.request("DELETE", f"{FUNCTIONS}/{name}")
    assert status == 204, (status, body)


def test_a_chatty_functions_log_stays_under_its_cap_and_its_tail_is_the_newest(make_daemon):
    daemon = make_daemon("--max-log-mb", "1").start()
    daemon.create("chatty", {"app.py": CHATTY})
    for call in range(3):  # ~1.5 MB each
        assert invoke(daemon, "chatty", {"lines": 15000, "call": call}) == "ok"
    # The whole output, in order, before END and REPORT.
    tail = daemon.cli("logs", "chatty", "--tail", "4", check=True).stdout.splitlines()
    assert "chatty 14999 of call 2 " in tail[0] and tail[1].endswith("done with call 2"), tail
    assert "END RequestId:" in tail[2] and "REPORT RequestId:" in tail[3], tail
    logs = daemon.data_dir / "logs"
    total = sum(p.stat().st_size for p in logs.glob("chatty.log*"))
    assert 0 < total <= 1 << 20, log_files(daemon.data_dir)


def test_create_and_delete_cycles_leave_no_logs_or_packages(daemon):
    for i in range(8):
        name = f"cycle-{i}"
        daemon.create(name, {"app.py": LAZY, "later.txt": f"cycle {i}"})
        assert invoke(daemon, name, {}) == f"cycle {i}"
        delete(daemon, name)
    # A deleted function's environment stops on the io thread; its package goes after that
    # (moved into code/.tmp at once, deleted from there on a worker).
    code = daemon.data_dir / "code"
    assert wait_until(lambda: packages(daemon.data_dir) == [] and os.listdir(code / ".tmp") == [],
                      timeout=10), (packages(daemon.data_dir), os.listdir(code / ".tmp"))
    assert log_files(daemon.data_dir) == []


def test_a_package_another_function_uses_stays_until_both_are_deleted(daemon):
    files = {"app.py": LAZY, "later.txt": "shared"}
    daemon.create("first", files)
    daemon.create("second", files)
    assert invoke(daemon, "first", {}) == "shared"
    key = json.loads(daemon.request("GET", f"{FUNCTIONS}/second")[2])["Configuration"]["CodeSha256"]
    assert len(packages(daemon.data_dir)) == 2  # the tree and its zip
    delete(daemon, "first")
    time.sleep(0.3)
    assert len(packages(daemon.data_dir)) == 2
    assert invoke(daemon, "second", {}) == "shared"
    assert wait_until(lambda: log_files(daemon.data_dir) == ["second.log"]), log_files(daemon.data_dir)
    delete(daemon, "second")
    assert wait_until(lambda: packages(daemon.data_dir) == [], timeout=10), key


def test_a_package_stays_while_an_environment_of_its_deleted_function_still_runs(daemon):
    daemon.create("busy", {"app.py": LAZY, "later.txt": "read after the delete"})
    result = {}
    call = threading.Thread(target=lambda: result.update(r=daemon.invoke("busy", b'{"sleep": 1.5}')))
    call.start()
    time.sleep(0.7)  # the invocation is under way
    delete(daemon, "busy")
    call.join(30)
    status, _, body = result["r"]
    assert status == 200 and json.loads(body) == "read after the delete", (status, body)
    assert wait_until(lambda: packages(daemon.data_dir) == [], timeout=10)
    assert log_files(daemon.data_dir) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs: what a full disk is, on any host (root only)."""
    require_root("a small file system for the full-disk test")
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        message = f"cannot mount a small tmpfs: {mounted.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: it must run in CI)", pytrace=False)
        pytest.skip(message)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_delete_on_a_full_disk_is_a_500_and_the_function_stays(small_disk, make_daemon):
    data = small_disk / "data"
    daemon = make_daemon(data_dir=data).start()
    daemon.create("kept", {"app.py": LAZY, "later.txt": "still here"})
    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    status, _, body = daemon.request("DELETE", f"{FUNCTIONS}/kept")
    assert status == 500, (status, body)
    assert "full" in json.loads(body)["message"], body
    filler.unlink()
    assert invoke(daemon, "kept", {}) == "still here"
    daemon.stop()
    daemon = make_daemon(data_dir=data).start()
    assert invoke(daemon, "kept", {}) == "still here"
    delete(daemon, "kept")


def daemon_cgroups(pid):
    """The cgroup directories a daemon makes its environments' groups in: <hierarchy>/<its own
    group>/lambent/<pid>, one per mounted hierarchy that has one."""
    found = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            names = [controllers] if controllers else ["", "unified"]
            for name in names:
                base = Path("/sys/fs/cgroup") / name.replace("name=", "")
                candidate = base / path.lstrip("/") / "lambent" / str(pid)
                if candidate.is_dir() and candidate not in found:
                    found.append(candidate)
    return found


def environment_cgroups(dirs):
    """Environments' groups (env-*; the daemon may keep groups of its own beside them)."""
    return [e for d in dirs if d.exists() for e in d.iterdir() if e.is_dir() and e.name.startswith("env-")]


def test_a_stopped_environments_cgroup_goes_as_soon_as_it_is_reaped(bin_dir, request, make_daemon):
    require_sandbox(bin_dir, request, "the cgroup clean-up test")
    daemon = make_daemon("--prestart", "0").start()
    daemon.create("brief", {"app.py": LAZY, "later.txt": "brief"})
    assert invoke(daemon, "brief", {}) == "brief"
    dirs = daemon_cgroups(daemon.proc.pid)
    assert environment_cgroups(dirs), "no environment cgroups while an environment is warm"
    delete(daemon, "brief")  # stops its environment
    assert wait_until(lambda: environment_cgroups(dirs) == [], timeout=5), environment_cgroups(dirs)


def test_a_daemon_killed_with_sigkill_leaves_no_cgroups(bin_dir, request, make_daemon):
    require_sandbox(bin_dir, request, "the cgroup clean-up test")
    daemon = make_daemon("--prestart", "0").start()
    daemon.create("warm", {"app.py": LAZY, "later.txt": "warm"}, MemorySize=128)
    calls = [threading.Thread(target=daemon.invoke, args=("warm", b'{"sleep": 0.5}')) for _ in range(4)]
    for call in calls:
        call.start()
    for call in calls:
        call.join(30)
    dirs = daemon_cgroups(daemon.proc.pid)
    assert dirs, "the daemon made no cgroups"
    assert environment_cgroups(dirs), "no environment cgroups while environments are warm"
    pids = descendants(daemon.proc.pid)
    time.sleep(0.5)  # idle long enough to be frozen (--freeze-after-ms): the harder case
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(10)
    assert wait_until(lambda: not any(d.exists() for d in dirs), timeout=10), \
        [str(d) for d in dirs if d.exists()]
    assert wait_until(lambda: not alive(pids), timeout=5)
