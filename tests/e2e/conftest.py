"""Fixtures for the end-to-end suite: a real `lambent serve` on a free loopback port with a
temporary data directory, and helpers to build function packages and call the API."""

import base64
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption("--lambent-bin", default=str(REPO / "build" / "bin"),
                     help="directory holding the lambent and lambent-init binaries")


@pytest.fixture(scope="session")
def bin_dir(request):
    path = Path(request.config.getoption("--lambent-bin")).resolve()
    assert (path / "lambent").exists(), f"build lambent first: {path}/lambent is missing"
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A running `lambent serve`. Stopped (SIGTERM) at teardown."""

    def __init__(self, bin_dir, data_dir, extra_args=()):
        self.bin_dir = bin_dir
        self.data_dir = Path(data_dir)
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.log_path = self.data_dir.parent / f"serve-{self.data_dir.name}.log"

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, port=None):
        self.port = port or free_port()
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.bin_dir / "lambent"), "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lambent serve exited: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/lambent/v1/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("lambent serve did not come up")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # Still draining in-flight calls: a second SIGTERM stops them at once.
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        if getattr(self, "log_file", None):
            self.log_file.close()

    def log(self):
        return self.log_path.read_text(errors="replace")

    # --- HTTP helpers -------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers, body bytes); never raises on HTTP errors."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(self.endpoint + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def create(self, name, files, runtime="python3.11", handler="app.handler", **config):
        body = {"FunctionName": name, "Runtime": runtime, "Handler": handler,
                "Role": "arn:aws:iam::000000000000:role/test",
                "Code": {"ZipFile": base64.b64encode(make_zip(files)).decode()}, **config}
        status, headers, data = self.request("POST", "/2015-03-31/functions", body)
        assert status == 201, (status, data)
        return json.loads(data)

    def invoke(self, name, payload=b"{}", headers=None, qualifier=None, timeout=60):
        path = f"/2015-03-31/functions/{name}/invocations"
        if qualifier:
            path += f"?Qualifier={qualifier}"
        return self.request("POST", path, payload, headers, timeout=timeout)

    def cli(self, *args, check=False, timeout=60, input=None):
        env = dict(os.environ, LAMBENT_ENDPOINT=self.endpoint)
        proc = subprocess.run([str(self.bin_dir / "lambent"), *args], capture_output=True,
                              text=True, env=env, timeout=timeout, input=input)
        if check:
            assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
        return proc


def make_zip(files):
    """Zips {name: content | (content, mode)} in memory; modes default to 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, spec in files.items():
            content, mode = spec if isinstance(spec, tuple) else (spec, 0o644)
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    return buf.getvalue()


@pytest.fixture
def daemon(bin_dir, tmp_path):
    d = Daemon(bin_dir, tmp_path / "data").start()
    yield d
    d.stop()


@pytest.fixture
def make_daemon(bin_dir, tmp_path):
    """Factory for tests that need their own flags or a restart."""
    made = []

    def make(*extra_args, data_dir=None):
        d = Daemon(bin_dir, data_dir or (tmp_path / f"data{len(made)}"), extra_args)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


def processes_with_env(marker):
    """PIDs of live processes whose environment contains `marker` (to find leaks)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture
def marker():
    """A unique value for LAMBENT_TEST_MARKER; whatever still carries it at the end is killed
    (only processes this test's functions started carry it)."""
    value = f"lambent-e2e-{uuid.uuid4()}"
    yield value
    for pid in processes_with_env(value):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def parents():
    """{pid: parent pid} of every live process."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent_of[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return parent_of


def descendants(pid):
    """Every live process below `pid` (children, their children, ...)."""
    parent_of = parents()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parent_of.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def environment_pids(daemon, name):
    """Host pids of every process in the live environments of function `name`: each init
    and everything under it. (A prestarted environment's init and runtime were started
    before they had the function, so its variables are not in their /proc/PID/environ.)"""
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/environments")
    if status != 200:
        return []
    pids = []
    for env in json.loads(body)["Environments"]:
        if env["InitPid"] > 0:
            pids.append(env["InitPid"])
            pids.extend(descendants(env["InitPid"]))
    return pids


def require_sandbox(bin_dir, request, suite):
    """Skips the calling module unless this host gives sandboxed environments (root, and
    `lambent doctor` agrees); under CI=true that is a failure instead."""
    reason = None
    if os.geteuid() != 0:
        reason = f"needs root (euid {os.geteuid()}): only root gets sandboxed environments"
    else:
        try:
            doctor = subprocess.run([str(bin_dir / "lambent"), "doctor"], capture_output=True,
                                    text=True, timeout=30)
            if "environments are sandboxed" not in doctor.stdout:
                reason = ("`lambent doctor` does not report sandboxed environments:\n"
                          + doctor.stdout + doctor.stderr)
        except (OSError, subprocess.TimeoutExpired) as e:
            reason = f"`lambent doctor` failed: {e!r}"
    if reason is None:
        return
    message = f"{suite} not run: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the suite must run in CI)", pytrace=False)
    # Printed once, past output capturing; every test of the module is then skipped with it.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + message)
    pytest.skip(message)


def prestarted(daemon):
    """The daemon's environments started ahead of demand, not yet taken by a function."""
    status, _, body = daemon.request("GET", "/lambent/v1/prestarted")
    assert status == 200, body
    return json.loads(body)["Environments"]


def alive(pids):
    """The ones of `pids` that still exist (and are not zombies)."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(pid)
        except (OSError, IndexError):
            pass
    return out


def header(headers, name):
    """A response header by case-insensitive name, or None."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
