"""Sandbox escape suite: function code tries to break out of its execution environment and
every attempt must fail, leaving the host, the daemon and other environments unharmed.

Each test deploys python3.11 handlers that attempt one kind of escape and report what they
observed (errno names, not tracebacks); the test asserts the attempt failed, then that the
daemon still answers and a separate "canary" function still invokes, and finally (after the
daemon stops) that no process carrying any of the test's LAMBENT_TEST_MARKER values is left.

Needs root and a host where `lambent doctor` says "environments are sandboxed"; elsewhere
the module is skipped, except under CI=true where that is a failure.
"""

import base64
import errno
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
import warnings

import pytest

from conftest import (alive, descendants, environment_pids, header, make_zip, parents,
                      processes_with_env, require_sandbox, wait_until)


# --- the module's precondition -------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def sandboxed_host(bin_dir, request):
    require_sandbox(bin_dir, request, "sandbox escape suite")


# --- the probe every function runs ---------------------------------------------------------

# One handler for every attempt; event["op"] picks the attempt. Failures come back as data:
# {"errno": "EPERM", "type": "PermissionError"}; success as {"ok": ...}.
PROBE = r'''
import ctypes
import errno
import json
import os
import platform
import socket
import time
import uuid

ENVIRONMENT_ID = uuid.uuid4().hex
INVOCATIONS = 0
libc = ctypes.CDLL(None, use_errno=True)

# Syscall numbers the C library has no wrapper for (or whose wrapper we avoid).
SYSCALLS = {
    "x86_64": {"finit_module": 313, "init_module": 175, "keyctl": 250, "add_key": 248,
               "bpf": 321, "perf_event_open": 298, "clone": 56, "pidfd_open": 434,
               "pidfd_getfd": 438, "open_tree": 428, "pivot_root": 155, "chroot": 161,
               "reboot": 169, "kexec_load": 246, "swapon": 167, "syslog": 103,
               "clock_settime": 227, "clock_adjtime": 305, "name_to_handle_at": 303,
               "open_by_handle_at": 304, "kcmp": 312, "process_vm_readv": 310,
               "userfaultfd": 323},
    "aarch64": {"finit_module": 273, "init_module": 105, "keyctl": 219, "add_key": 217,
                "bpf": 280, "perf_event_open": 241, "clone": 220, "pidfd_open": 434,
                "pidfd_getfd": 438, "open_tree": 428, "pivot_root": 41, "chroot": 51,
                "reboot": 142, "kexec_load": 104, "swapon": 224, "syslog": 116,
                "clock_settime": 112, "clock_adjtime": 266, "name_to_handle_at": 264,
                "open_by_handle_at": 265, "kcmp": 272, "process_vm_readv": 270,
                "userfaultfd": 282},
}[platform.machine()]


def failure(e):
    if isinstance(e, OSError) and e.errno is not None:
        return {"errno": errno.errorcode.get(e.errno, str(e.errno)), "type": type(e).__name__}
    return {"errno": None, "type": type(e).__name__, "message": str(e)[:200]}


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as e:
        return failure(e)


def libc_call(result):
    """A libc/syscall return value as the same shape: ok, or the errno it set."""
    if result == -1:
        e = ctypes.get_errno()
        return {"errno": errno.errorcode.get(e, str(e)), "type": "OSError"}
    return {"ok": result}


def syscall(name, *args):
    ctypes.set_errno(0)
    return libc_call(libc.syscall(ctypes.c_long(SYSCALLS[name]), *[ctypes.c_long(a) for a in args]))


def status_fields():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def probe_path(path):
    out = {"exists": os.path.lexists(path)}
    out["read"] = attempt(lambda: len(open(path, "rb").read(64)))
    out["list"] = attempt(lambda: sorted(os.listdir(path))[:20])
    return out


def try_create(path):
    """Creates `path` (never an existing file) and removes it again at once if that worked,
    so a sandbox that fails leaves nothing behind on the host."""
    def create():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.unlink(path)
        return "created"
    return attempt(create)


def try_open_for_writing(path):
    """Opens an existing file for appending and writes nothing: EROFS needs no data."""
    return attempt(lambda: os.close(os.open(path, os.O_WRONLY | os.O_APPEND)) or "opened")


def contained():
    """Refuses to go on outside a sandbox: these probes must never touch a real host."""
    with open("/proc/self/uid_map") as f:
        maps = [line.split() for line in f if line.strip()]
    status = status_fields()
    if any(outside == "0" for _, outside, _ in maps) or status.get("NoNewPrivs") != "1" \
            or status.get("Seccomp") != "2":
        raise RuntimeError(f"refusing to run outside a sandbox: uid_map {maps}, "
                           f"NoNewPrivs {status.get('NoNewPrivs')}, Seccomp {status.get('Seccomp')}")


def connect(host, port, timeout=2.0):
    def go():
        with socket.create_connection((host, port), timeout=timeout):
            return "connected"
    return attempt(go)


def pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())


def markers_visible():
    """LAMBENT_TEST_MARKER values of every process this environment can see."""
    seen = {}
    for pid in pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                for var in f.read().split(b"\0"):
                    if var.startswith(b"LAMBENT_TEST_MARKER="):
                        seen[pid] = var.split(b"=", 1)[1].decode()
        except OSError:
            pass
    return seen


def op_files(event):
    return {path: probe_path(path) for path in event["paths"]} | {
        "/var/task": sorted(os.listdir("/var/task")), "/etc": sorted(os.listdir("/etc"))}


def op_write(event):
    contained()
    out = {path: try_create(path) for path in event["create"]}
    out.update({path: try_open_for_writing(path) for path in event["existing"]})
    tmp = f"/tmp/probe-{uuid.uuid4().hex}"
    def tmp_roundtrip():
        with open(tmp, "w") as f:
            f.write("written\n")
        with open(tmp) as f:
            text = f.read()
        os.unlink(tmp)
        return text
    out["tmp"] = attempt(tmp_roundtrip)
    return out


def op_processes(event):
    out = {"pids": pids(), "cmdlines": {}}
    for pid in out["pids"]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out["cmdlines"][pid] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError as e:
            out["cmdlines"][pid] = failure(e)
    out["kill daemon"] = attempt(lambda: os.kill(event["daemon_pid"], 0))
    out["kill host pids"] = {pid: attempt(lambda: os.kill(pid, 0)) for pid in event.get("host_pids", [])}
    out["markers"] = markers_visible()
    return out


def op_peers(event):
    time.sleep(event.get("sleep", 0))
    return {"pids": pids(), "markers": markers_visible(),
            "kill host pids": {pid: attempt(lambda: os.kill(pid, 0)) for pid in event.get("host_pids", [])}}


def op_network(event):
    out = {"daemon": connect("127.0.0.1", event["port"])}
    for ip in event.get("host_ips", []):
        out[ip] = connect(ip, event["port"])
    with open("/proc/net/dev") as f:
        out["interfaces"] = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    if event.get("http"):
        import urllib.request
        def get():
            with urllib.request.urlopen(f"http://127.0.0.1:{event['port']}/lambent/v1/health", timeout=3) as r:
                return r.status
        out["health"] = attempt(get)
    return out


def op_privileged(event):
    contained()
    out = {}
    target = f"/tmp/mnt-{uuid.uuid4().hex}"
    os.mkdir(target)
    ctypes.set_errno(0)
    out["mount"] = libc_call(libc.mount(b"none", target.encode(), b"tmpfs", ctypes.c_ulong(0), None))
    if "ok" in out["mount"]:
        libc.umount2(target.encode(), 2)  # MNT_DETACH: leave nothing mounted
    os.rmdir(target)
    ctypes.set_errno(0)
    out["unshare user"] = libc_call(libc.unshare(0x10000000))      # CLONE_NEWUSER
    ctypes.set_errno(0)
    out["unshare mount"] = libc_call(libc.unshare(0x00020000))     # CLONE_NEWNS
    ctypes.set_errno(0)
    out["clone newuser"] = syscall("clone", 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER|SIGCHLD
    if out["clone newuser"].get("ok") == 0:
        os._exit(0)  # we are the child the filter should have refused
    ctypes.set_errno(0)
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    out["setns"] = libc_call(libc.setns(fd, 0))
    os.close(fd)
    fd = os.open("/dev/null", os.O_RDONLY)
    out["finit_module"] = syscall("finit_module", fd, 0, 0)
    os.close(fd)
    out["init_module"] = syscall("init_module", 0, 0, 0)
    ctypes.set_errno(0)
    out["ptrace traceme"] = libc_call(libc.ptrace(ctypes.c_long(0), 0, None, None))   # PTRACE_TRACEME
    ctypes.set_errno(0)
    out["ptrace attach 1"] = libc_call(libc.ptrace(ctypes.c_long(16), 1, None, None))  # PTRACE_ATTACH
    if "ok" in out["ptrace attach 1"]:
        libc.ptrace(ctypes.c_long(17), 1, None, None)  # PTRACE_DETACH
    out["keyctl"] = syscall("keyctl", 0, -3, 0)   # KEYCTL_GET_KEYRING_ID, session keyring
    out["add_key"] = syscall("add_key", 0, 0, 0, 0, -3)
    out["bpf"] = syscall("bpf", 0, 0, 0)
    out["perf_event_open"] = syscall("perf_event_open", 0, 0, -1, -1, 0)
    out["open_tree"] = syscall("open_tree", -100, 0, 0)
    # One call per remaining seccomp family, each with arguments the kernel would reject
    # (EINVAL/EFAULT) if the filter let it through: EPERM can only come from the filter or
    # a missing capability, and nothing here could do harm even on a bare host.
    out["pivot_root"] = syscall("pivot_root", 0, 0)
    out["chroot"] = syscall("chroot", 0)
    out["reboot"] = syscall("reboot", 0, 0, 0, 0)                   # bad magic
    out["kexec_load"] = syscall("kexec_load", 0, 0, 0, 0xFFFFFFFF)  # bad flags
    out["swapon"] = syscall("swapon", 0, 0)
    out["syslog"] = syscall("syslog", 10, 0, 0)                     # SIZE_BUFFER
    out["clock_settime"] = syscall("clock_settime", -1, 0)          # no such clock
    out["clock_adjtime"] = syscall("clock_adjtime", -1, 0)
    out["name_to_handle_at"] = syscall("name_to_handle_at", -100, 0, 0, 0, 0)
    out["open_by_handle_at"] = syscall("open_by_handle_at", -1, 0, 0)
    out["kcmp"] = syscall("kcmp", os.getpid(), os.getpid(), 0, 0, 0)
    out["process_vm_readv"] = syscall("process_vm_readv", os.getpid(), 0, 0, 0, 0, 0)
    out["userfaultfd"] = syscall("userfaultfd", 0)
    node = f"/tmp/disk-{uuid.uuid4().hex}"
    out["mknod"] = attempt(lambda: os.mknod(node, 0o600 | 0o060000, os.makedev(254, 0)))
    if "ok" in out["mknod"]:
        os.unlink(node)
    out["setuid"] = attempt(lambda: os.setuid(1))
    out["status"] = {k: v for k, v in status_fields().items()
                     if k.startswith("Cap") or k in ("NoNewPrivs", "Seccomp", "Uid", "Gid")}
    out["uid_map"] = open("/proc/self/uid_map").read().split()
    return out


def op_init(event):
    """Reach into init (pid 1, the daemon's trusted agent in the environment)."""
    out = {}
    pidfd = syscall("pidfd_open", 1, 0)
    out["pidfd_open 1"] = pidfd
    if "ok" in pidfd:
        got = syscall("pidfd_getfd", pidfd["ok"], 3, 0)   # init's control socket to the daemon
        if "ok" in got:
            got["target"] = os.readlink(f"/proc/self/fd/{got['ok']}")
            os.close(got["ok"])
        out["pidfd_getfd control socket"] = got
        os.close(pidfd["ok"])
    def open_mem():
        os.close(os.open("/proc/1/mem", os.O_RDWR))
        return "opened"
    out["write /proc/1/mem"] = attempt(open_mem)
    out["list /proc/1/fd"] = attempt(lambda: sorted(os.listdir("/proc/1/fd")))
    return out


def op_oom(event):
    contained()
    hoard = []
    for _ in range(event.get("mb", 512) // 16):
        hoard.append(bytearray(b"\x01") * (16 << 20))   # written, so really resident
    return {"survived_mb": 16 * len(hoard)}


def op_fork(event):
    contained()
    started = time.time()
    forked, attempts, stop = 0, 0, None
    while attempts < event.get("attempts", 5000) and time.time() - started < event.get("seconds", 20):
        attempts += 1
        try:
            pid = os.fork()
        except OSError as e:
            stop = failure(e)
            break
        if pid == 0:
            try:
                time.sleep(120)
            finally:
                os._exit(0)
        forked += 1
    return {"forked": forked, "attempts": attempts, "stopped_by": stop,
            "seconds": round(time.time() - started, 3)}


def op_fill_tmp(event):
    contained()
    chunk = b"\x01" * (1 << 20)
    written, stop = 0, None
    st = os.statvfs("/tmp")
    try:
        with open("/tmp/fill", "wb", buffering=0) as f:
            for _ in range(event.get("mb", 600)):
                written += f.write(chunk)
    except OSError as e:
        stop = failure(e)
    finally:
        if os.path.exists("/tmp/fill"):
            os.unlink("/tmp/fill")
    return {"written": written, "stopped_by": stop, "tmp_size": st.f_blocks * st.f_frsize}


def op_spin(event):
    wall, cpu = time.time(), time.process_time()
    while time.time() - wall < event.get("seconds", 2):
        pass
    return {"cpu": time.process_time() - cpu, "wall": time.time() - wall}


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    op = event.get("op", "hello")
    if op == "hello":
        return {"hello": True, "environment_id": ENVIRONMENT_ID, "invocations": INVOCATIONS}
    if op == "sleep":
        time.sleep(event["seconds"])
        return {"slept": event["seconds"]}
    result = globals()["op_" + op](event)
    result["environment_id"] = ENVIRONMENT_ID
    result["invocations"] = INVOCATIONS
    return result
'''

CANARY = '''\
def handler(event, context):
    return {"canary": "ok", "echo": event}
'''

DENIED = ("EPERM", "EACCES")



class Sandbox:
    """Deploys functions that each carry a fresh LAMBENT_TEST_MARKER and invokes them."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.markers = {}
        self.canary_ready = False

    def deploy(self, name, files=None, **config):
        marker = str(uuid.uuid4())
        environment = config.pop("Environment", {"Variables": {}})
        environment["Variables"]["LAMBENT_TEST_MARKER"] = marker
        created = self.daemon.create(name, files or {"app.py": PROBE}, Environment=environment, **config)
        self.markers[name] = marker
        return created

    def call(self, name, event=None, tail=False, timeout=45):
        """Invokes; returns (status, headers, decoded body, log tail or None)."""
        headers = {"X-Amz-Log-Type": "Tail"} if tail else None
        status, got, body = self.daemon.invoke(name, json.dumps(event or {}).encode(), headers,
                                               timeout=timeout)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = body
        log = header(got, "X-Amz-Log-Result")
        return status, got, doc, (base64.b64decode(log).decode(errors="replace") if log else None)

    def probe(self, name, event):
        """Invokes a probe op that must complete normally; returns its report."""
        status, headers, doc, _ = self.call(name, event)
        assert status == 200 and header(headers, "X-Amz-Function-Error") is None, (status, doc)
        return doc

    def assert_unharmed(self):
        """The daemon answers and another function, in its own environment, still works."""
        assert self.daemon.proc.poll() is None, "the daemon died:\n" + self.daemon.log()[-3000:]
        status, _, body = self.daemon.request("GET", "/lambent/v1/health", timeout=10)
        assert status == 200, (status, body)
        if not self.canary_ready:
            self.deploy("canary", {"app.py": CANARY})
            self.canary_ready = True
        nonce = uuid.uuid4().hex
        status, headers, doc, _ = self.call("canary", {"nonce": nonce}, timeout=30)
        assert status == 200 and header(headers, "X-Amz-Function-Error") is None, (status, doc)
        assert doc == {"canary": "ok", "echo": {"nonce": nonce}}


@pytest.fixture
def sandbox(daemon):
    s = Sandbox(daemon)
    yield s
    # Nothing any environment started may outlive the daemon: neither a process below it
    # just before it stopped, nor one carrying a function's marker.
    below = descendants(daemon.proc.pid) if daemon.proc.poll() is None else []
    daemon.stop()
    leaked = {}
    def clean():
        leaked.clear()
        if survivors := alive(below):
            leaked["under the daemon"] = survivors
        for name, marker in s.markers.items():
            if pids := processes_with_env(marker):
                leaked[name] = pids
        return not leaked
    assert wait_until(clean, timeout=10, interval=0.2), f"processes outlived the daemon: {leaked}"


def assert_denied(result, allowed=DENIED, what=""):
    assert "ok" not in result, f"{what}: succeeded where it must fail: {result}"
    assert result.get("errno") in allowed, f"{what}: expected {allowed}, got {result}"


def code_sha_hex(files):
    return hashlib.sha256(make_zip(files)).hexdigest()


def run_concurrently(*calls):
    """Runs (fn, args) pairs in threads; returns their results in order (or raises)."""
    results = [None] * len(calls)
    errors = []

    def run(i, fn, args):
        try:
            results[i] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, fn, args)) for i, (fn, args) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "an invocation did not finish within 60 s"
    if errors:
        raise errors[0]
    return results


def host_uids(pids):
    uids = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uids[pid] = tuple(int(x) for x in line.split()[1:])
        except OSError:
            pass
    return uids


def host_ipv4_addresses():
    """This host's non-loopback IPv4 addresses (the ones a route points out of), if any."""
    found = set()
    for probe in ("192.0.2.1", "10.255.255.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.add(s.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127."))


REPORT_MEMORY = re.compile(r"REPORT RequestId: (\S+).*?Max Memory Used: (\d+) MB")


# --- the file system -----------------------------------------------------------------------

def test_host_files_and_other_functions_code_are_invisible(sandbox, daemon):
    other_files = {"app.py": CANARY, "secret.txt": f"other function's secret {uuid.uuid4()}\n"}
    other = sandbox.deploy("other", other_files)
    sha = code_sha_hex(other_files)
    assert base64.b64decode(other["CodeSha256"]).hex() == sha
    other_code = daemon.data_dir / "code" / sha
    db = daemon.data_dir / "lambent.db"
    # The targets exist on the host, so "absent" below means hidden, not missing.
    assert (other_code / "secret.txt").is_file() and db.is_file()
    sandbox.deploy("snoop")

    targets = ["/etc/shadow", "/etc/gshadow", str(db), str(daemon.data_dir),
               str(daemon.data_dir / "code"), str(other_code), str(other_code / "secret.txt"),
               "/root", "/home", "/srv", "/sys", "/sys/fs/cgroup", "/boot", "/mnt", "/media",
               str(daemon.log_path)]
    seen = sandbox.probe("snoop", {"op": "files", "paths": targets})
    for path in targets:
        result = seen[path]
        hidden = not result["exists"] or (
            result["read"].get("errno") in ("EACCES", "EPERM", "ENOENT")
            and result["list"].get("errno") in ("EACCES", "EPERM", "ENOENT", "ENOTDIR"))
        assert hidden, f"{path} is visible inside the sandbox: {result}"
        assert "ok" not in result["read"] and "ok" not in result["list"], (path, result)
    # Its own code only, and an /etc of the sandbox's own making.
    assert seen["/var/task"] == ["app.py"], seen["/var/task"]
    assert "shadow" not in seen["/etc"] and "passwd" in seen["/etc"], seen["/etc"]
    sandbox.assert_unharmed()


def test_read_only_file_system_except_tmp(sandbox, daemon):
    tag = uuid.uuid4().hex
    files = {"app.py": PROBE}
    sandbox.deploy("scribble")
    create = [f"/usr/escape-{tag}", f"/usr/bin/escape-{tag}", f"/var/task/escape-{tag}",
              f"/etc/escape-{tag}", f"/escape-{tag}", f"/var/runtime/escape-{tag}",
              f"/opt/escape-{tag}", f"/var/escape-{tag}"]
    existing = ["/var/task/app.py", "/etc/passwd", "/etc/hosts", "/usr/bin/env"]
    try:
        seen = sandbox.probe("scribble", {"op": "write", "create": create, "existing": existing})
    finally:
        # Whatever happened, leave nothing on the host (the probe removes what it made).
        for path in create:
            if path.startswith(("/usr", "/etc", "/escape", "/opt", "/var/escape")):
                try:
                    os.unlink(path)
                except OSError:
                    pass
    for path in create + existing:
        assert_denied(seen[path], ("EROFS", "EACCES"), f"write {path}")
    assert seen["tmp"] == {"ok": "written\n"}, seen["tmp"]
    code = daemon.data_dir / "code" / code_sha_hex(files)
    assert (code / "app.py").read_text() == PROBE and not (code / f"escape-{tag}").exists()
    sandbox.assert_unharmed()


# --- processes -----------------------------------------------------------------------------

def test_processes_outside_are_invisible_and_unsignalable(sandbox, daemon):
    sandbox.deploy("peek")
    seen = sandbox.probe("peek", {"op": "processes", "daemon_pid": daemon.proc.pid,
                                  "host_pids": [os.getpid()]})
    # init (1) and the runtime (2): nothing of the host, nothing of other environments.
    assert seen["pids"][0] == 1 and len(seen["pids"]) <= 3, seen["pids"]
    assert "lambent-init" in seen["cmdlines"]["1"], seen["cmdlines"]
    assert set(seen["markers"].values()) == {sandbox.markers["peek"]}, seen["markers"]
    assert seen["kill daemon"].get("errno") == "ESRCH", seen["kill daemon"]
    # Our own pid means nothing inside (ESRCH); pid 1 inside is the environment's init.
    assert seen["kill host pids"][str(os.getpid())].get("errno") == "ESRCH", seen["kill host pids"]
    assert daemon.proc.poll() is None
    sandbox.assert_unharmed()


def start_two_sleepers(sandbox, seconds):
    """Invokes two sleeping functions in the background; returns (threads' results, pids)."""
    sandbox.deploy("alpha")
    sandbox.deploy("beta")
    results = {}

    def invoke(name):
        results[name] = sandbox.call(name, {"op": "sleep", "seconds": seconds}, timeout=30)

    threads = [threading.Thread(target=invoke, args=(name,)) for name in ("alpha", "beta")]
    for t in threads:
        t.start()
    pids = {}

    def both_running():
        for name in ("alpha", "beta"):
            pids[name] = environment_pids(sandbox.daemon, name)
        return all(len(p) >= 2 for p in pids.values())  # init and the runtime of each

    assert wait_until(both_running, timeout=10), pids
    return threads, results, pids


def test_concurrent_environments_cannot_see_each_other(sandbox, daemon):
    threads, results, pids = start_two_sleepers(sandbox, 2.5)
    # While both sleep, each of them looks for the other, by its host pids and in its /proc.
    seen = run_concurrently(
        (sandbox.probe, ("alpha", {"op": "peers", "host_pids": pids["beta"]})),
        (sandbox.probe, ("beta", {"op": "peers", "host_pids": pids["alpha"]})))
    for t in threads:
        t.join(30)
    for (name, other), report in zip((("alpha", "beta"), ("beta", "alpha")), seen):
        assert set(report["markers"].values()) <= {sandbox.markers[name]}, (name, report)
        assert sandbox.markers[other] not in report["markers"].values(), (name, report)
        assert len(report["pids"]) <= 3, (name, report["pids"])
        for pid, result in report["kill host pids"].items():
            # A small host pid could exist inside as our own init/runtime; beta's are large.
            if int(pid) > 3:
                assert result.get("errno") == "ESRCH", (name, pid, result)
    for name in ("alpha", "beta"):
        status, headers, doc, _ = results[name]
        assert status == 200 and header(headers, "X-Amz-Function-Error") is None, (name, doc)
    sandbox.assert_unharmed()


def test_concurrent_environments_have_distinct_host_uids(sandbox, daemon):
    threads, results, pids = start_two_sleepers(sandbox, 2)
    uids = {name: host_uids(p) for name, p in pids.items()}
    for t in threads:
        t.join(30)
    print("host uids:", uids)
    per_env = {}
    for name, by_pid in uids.items():
        assert by_pid, (name, pids[name])
        distinct = {u for triple in by_pid.values() for u in triple}
        assert len(distinct) == 1, (name, by_pid)  # init and runtime: one uid, every slot
        per_env[name] = distinct.pop()
    assert per_env["alpha"] != per_env["beta"], per_env
    assert 0 not in per_env.values(), per_env
    assert os.getuid() not in per_env.values()
    for name in ("alpha", "beta"):
        assert results[name][0] == 200, results[name]
    sandbox.assert_unharmed()


def test_runtime_cannot_hijack_init(sandbox, daemon):
    """init (pid 1) holds the environment's control socket to the daemon; the function's
    code must not be able to take it (pidfd_getfd) or rewrite init (/proc/1/mem): both are
    ptrace in all but name, and ptrace is denied."""
    sandbox.deploy("hijack")
    seen = sandbox.probe("hijack", {"op": "init"})
    print("init probe:", json.dumps(seen))
    failures = []
    got = seen.get("pidfd_getfd control socket", {})
    if "ok" in got:
        failures.append(f"pidfd_getfd(pidfd_open(1), 3) handed the runtime init's control "
                        f"socket ({got.get('target')})")
    if "ok" in seen["write /proc/1/mem"]:
        failures.append("the runtime opened /proc/1/mem (init's memory) read-write")
    sandbox.assert_unharmed()
    assert not failures, "; ".join(failures)


# --- network -------------------------------------------------------------------------------

def test_network_namespace_has_only_its_own_loopback(sandbox, daemon):
    sandbox.deploy("isolated")
    ips = host_ipv4_addresses()
    seen = sandbox.probe("isolated", {"op": "network", "port": daemon.port, "host_ips": ips})
    assert seen["interfaces"] == ["lo"], seen["interfaces"]
    assert_denied(seen["daemon"], ("ECONNREFUSED",), "connect 127.0.0.1:<daemon port>")
    for ip in ips:
        assert_denied(seen[ip], ("ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED", None),
                      f"connect {ip}:<daemon port>")
    sandbox.assert_unharmed()


def test_network_host_opt_in_reaches_the_daemon(sandbox, daemon):
    created = sandbox.deploy("hostnet", Network="host")
    assert created.get("Network") == "host", created
    seen = sandbox.probe("hostnet", {"op": "network", "port": daemon.port, "http": True})
    assert seen["daemon"] == {"ok": "connected"}, seen
    assert seen["health"] == {"ok": 200}, seen
    sandbox.assert_unharmed()


# --- privileges ----------------------------------------------------------------------------

def test_privileged_operations_are_denied(sandbox, daemon):
    sandbox.deploy("root")
    seen = sandbox.probe("root", {"op": "privileged"})
    for call in ("mount", "unshare user", "unshare mount", "clone newuser", "setns",
                 "finit_module", "init_module", "ptrace traceme", "ptrace attach 1", "keyctl",
                 "add_key", "bpf", "perf_event_open", "open_tree", "pivot_root", "chroot",
                 "reboot", "kexec_load", "swapon", "syslog", "clock_settime", "clock_adjtime",
                 "name_to_handle_at", "open_by_handle_at", "kcmp", "process_vm_readv",
                 "userfaultfd"):
        assert_denied(seen[call], ("EPERM",), call)
    assert_denied(seen["mknod"], ("EPERM",), "mknod block device")
    assert "ok" not in seen["setuid"], seen["setuid"]
    status = seen["status"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert status[cap] == "0000000000000000", (cap, status)
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2", status
    # root inside maps to one unprivileged host uid, never to host root.
    inside, outside, count = (int(x) for x in seen["uid_map"])
    assert inside == 0 and outside != 0 and count == 1, seen["uid_map"]
    sandbox.assert_unharmed()


# --- resource limits -----------------------------------------------------------------------

def test_memory_exhaustion_is_contained(sandbox, daemon):
    sandbox.deploy("hog", MemorySize=128, Timeout=10)
    first = sandbox.probe("hog", {"op": "hello"})
    assert first["invocations"] == 1

    status, headers, doc, tail = sandbox.call("hog", {"op": "oom", "mb": 512}, tail=True, timeout=40)
    assert status == 200, (status, doc)
    assert header(headers, "X-Amz-Function-Error") == "Unhandled", (headers, doc)
    assert isinstance(doc, dict) and doc.get("errorType") == "Runtime.OutOfMemory", doc
    request_id = header(headers, "x-amzn-RequestId")
    reports = {rid: int(mb) for rid, mb in REPORT_MEMORY.findall(tail or "")}
    assert reports.get(request_id, 0) >= 120, tail

    # The same figure in the function's log.
    def logged():
        out = daemon.cli("logs", "hog", timeout=20).stdout
        return {rid: int(mb) for rid, mb in REPORT_MEMORY.findall(out)}.get(request_id)
    assert wait_until(lambda: logged() is not None, timeout=10), daemon.cli("logs", "hog").stdout
    assert logged() >= 120

    # A fresh environment serves the next call.
    after = sandbox.probe("hog", {"op": "hello"})
    assert after["invocations"] == 1 and after["environment_id"] != first["environment_id"], after
    sandbox.assert_unharmed()


def test_fork_bomb_is_contained(sandbox, daemon):
    # Enough memory for ~1000 sleeping interpreters, so the pids limit, not the OOM killer,
    # is what stops the bomb.
    sandbox.deploy("bomb", MemorySize=2048, Timeout=12)
    marker = sandbox.markers["bomb"]
    # Time enough to reach the limit where a fork costs ~5 ms (small virtual machines).
    seen = sandbox.probe("bomb", {"op": "fork", "attempts": 5000, "seconds": 10})
    print("fork bomb:", seen)
    assert seen["stopped_by"] is not None and seen["stopped_by"]["errno"] == "EAGAIN", seen
    assert seen["forked"] <= 1024, seen
    # The host counts the same: everything in the environment, init included, within 1024.
    assert len(processes_with_env(marker)) <= 1024
    sandbox.assert_unharmed()

    # Time the environment out: every process of it must go with it.
    status, headers, doc, _ = sandbox.call("bomb", {"op": "sleep", "seconds": 30}, timeout=30)
    assert status == 200 and doc.get("errorType") == "Sandbox.Timedout", (status, doc)
    assert wait_until(lambda: not processes_with_env(marker), timeout=10), \
        f"{len(processes_with_env(marker))} processes of the fork bomb survived its environment"
    sandbox.assert_unharmed()


def test_tmp_is_bounded_by_ephemeral_storage(sandbox, daemon):
    # /tmp is on disk, sized by EphemeralStorage (a tmpfs of that size where the host has no
    # loop devices, whose pages then count against memory): give memory room either way, so
    # the size of /tmp (not the OOM killer) is what stops the writer.
    sandbox.deploy("filler", MemorySize=1024, Timeout=10, EphemeralStorage={"Size": 512})
    seen = sandbox.probe("filler", {"op": "fill_tmp", "mb": 600})
    assert seen["stopped_by"] is not None and seen["stopped_by"]["errno"] == "ENOSPC", seen
    assert seen["written"] <= 513 << 20, seen
    assert seen["tmp_size"] <= 513 << 20, seen
    sandbox.assert_unharmed()


def test_cpu_quota_follows_memory_size(sandbox, daemon):
    sandbox.deploy("spin-small", MemorySize=128, Timeout=10)
    sandbox.deploy("spin-large", MemorySize=3538, Timeout=10)
    small = sandbox.probe("spin-small", {"op": "spin", "seconds": 2})
    large = sandbox.probe("spin-large", {"op": "spin", "seconds": 2})
    print(f"CPU seconds over 2 s of spinning: 128 MB {small['cpu']:.3f}, 3538 MB {large['cpu']:.3f}")
    # 128 MB gets max(0.25, 128/1769) = 0.25 vCPU: about 0.5 s of CPU in 2 s.
    assert small["wall"] >= 1.9, small
    assert small["cpu"] <= 0.65, f"the 0.25 vCPU quota did not hold: {small}"
    if large["cpu"] < 1.5:
        warnings.warn(f"3538 MB (2 vCPU) spun only {large['cpu']:.2f} s of CPU in 2 s")
    sandbox.assert_unharmed()


def children_of(pid):
    """{child pid: command line} of the processes whose parent is `pid`."""
    out = {}
    for child, parent in parents().items():
        if parent != pid:
            continue
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                out[child] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
    return out


def test_environments_are_cloned_by_the_spawner_as_children_of_the_daemon(sandbox, daemon):
    # The spawner clones from its own small address space; CLONE_PARENT makes each
    # environment the daemon's child all the same, which reaps it and whose death ends it.
    # (A variable python reads as it starts keeps these functions off the python zygote, which
    # clones the same way: test_zygote.py.)
    own_runtime = {"Variables": {"PYTHONHASHSEED": "0"}}
    daemon_pid = daemon.proc.pid
    spawners = [pid for pid, cmd in children_of(daemon_pid).items() if cmd.endswith("--spawner")]
    assert len(spawners) == 1, children_of(daemon_pid)
    sandbox.deploy("spawned", Environment=own_runtime)
    assert sandbox.probe("spawned", {"op": "files", "paths": []})
    inits = [cmd for cmd in children_of(daemon_pid).values() if "lambent-init --sandbox" in cmd]
    assert inits, children_of(daemon_pid)
    assert not children_of(spawners[0]), "the spawner kept an environment as its own child"

    # Without its spawner the daemon clones environments itself, and says so.
    os.kill(spawners[0], signal.SIGKILL)
    sandbox.deploy("after-spawner", Environment={"Variables": dict(own_runtime["Variables"])})
    assert sandbox.probe("after-spawner", {"op": "files", "paths": []})
    assert wait_until(lambda: "the spawner failed" in daemon.log(), timeout=10), daemon.log()
    sandbox.assert_unharmed()
