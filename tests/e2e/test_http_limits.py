"""The HTTP front's bounded resources: header, body and idle timeouts, the connection cap,
request bodies spooled to disk instead of memory, the open-file limit (no spinning accept
loop, 429 before descriptors run out), and answers to malformed HTTP."""

import concurrent.futures
import json
import os
import socket
import time

import pytest

from conftest import Daemon, header

FUNCTIONS = "/2015-03-31/functions"
SHORT = ("--http-header-timeout-ms", "1000", "--http-body-timeout-ms", "1000",
         "--http-idle-timeout-ms", "1500")

SLEEPER = '''\
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
'''


def connect(daemon, timeout=10):
    return socket.create_connection(("127.0.0.1", daemon.port), timeout=timeout)


def closed_within(sock, seconds):
    """True when the daemon closes `sock` (EOF or reset) within `seconds`; reads and
    discards whatever it sends first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def read_response(sock, timeout=5):
    """(status, headers, body) of one response read to the end of the connection."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/1.1 ") else 0
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return status, headers, body


def assert_serves(daemon):
    status, _, body = daemon.request("GET", "/lambent/v1/health", timeout=10)
    assert status == 200, body


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture
def short_daemon(make_daemon):
    return make_daemon(*SHORT).start()


@pytest.fixture
def limited_daemon(bin_dir, tmp_path):
    """Factory: a daemon started under an open-file limit of `nofile` (soft and hard)."""
    made = []

    def make(nofile, *args):
        wrapped = tmp_path / f"nofile-{nofile}"
        wrapped.mkdir()
        script = wrapped / "lambent"
        script.write_text(f'#!/bin/sh\nexec prlimit --nofile={nofile}:{nofile} -- "{bin_dir}/lambent" "$@"\n')
        script.chmod(0o755)
        made.append(Daemon(wrapped, tmp_path / f"data-nofile-{nofile}", args))
        return made[-1]

    yield make
    for d in made:
        d.stop()


# --- timeouts ----------------------------------------------------------------------------------

def test_trickled_headers_are_closed_after_the_header_timeout(short_daemon):
    sockets = [connect(short_daemon) for _ in range(50)]
    try:
        for s in sockets:
            s.sendall(b"GET /lambent/v1/health HTTP/1.1\r\nHost: x\r\n")
        started = time.time()
        open_ones = list(sockets)
        while open_ones and time.time() - started < 4:
            for s in list(open_ones):
                try:
                    s.sendall(b"X-Slow: 1\r\n")  # progress, never the end of the header
                except OSError:
                    open_ones.remove(s)
                    continue
                if closed_within(s, 0.01):
                    open_ones.remove(s)
            time.sleep(0.2)
        assert not open_ones, f"{len(open_ones)} slowloris connections still open after 4 s"
        assert time.time() - started < 3
    finally:
        for s in sockets:
            s.close()
    assert_serves(short_daemon)


def test_a_body_shorter_than_its_content_length_is_closed_and_the_daemon_serves_on(short_daemon):
    with connect(short_daemon) as s:
        s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                  b'{"FunctionName"')
        started = time.time()
        assert closed_within(s, 5)
        assert 0.8 < time.time() - started < 3
    assert_serves(short_daemon)


def test_an_idle_keep_alive_connection_is_closed(short_daemon):
    with connect(short_daemon) as s:
        for _ in range(2):  # still open between two requests
            s.sendall(b"GET /lambent/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.time()
        assert closed_within(s, 5)
        assert 1.2 < time.time() - started < 3


def test_connections_past_the_cap_get_503_and_the_daemon_recovers(make_daemon):
    daemon = make_daemon(*SHORT, "--http-max-connections", "20").start()
    held = []
    try:
        # The health probe's connection may still be closing: fill up to the cap and one more.
        for _ in range(25):
            held.append(connect(daemon))
        time.sleep(0.2)
        refused = [s for s in held if closed_within(s, 0.05)]
        assert len(refused) >= 5
        with connect(daemon) as extra:
            status, headers, body = read_response(extra)
        assert status == 503, body
        assert header(headers, "x-amzn-ErrorType") == "ServiceException"
        assert "connections" in json.loads(body)["message"]
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    assert_serves(daemon)
    assert daemon.proc.poll() is None


# --- malformed HTTP ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"GET /lambent/v1/health HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /lambent/v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n",
    b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"NONSENSE\r\n\r\n",
], ids=["version", "header", "content-length", "length-and-chunked", "chunk", "request-line"])
def test_malformed_requests_get_400_with_an_error_body(short_daemon, raw):
    with connect(short_daemon) as s:
        s.sendall(raw)
        status, headers, body = read_response(s)
    assert status == 400, body
    assert header(headers, "x-amzn-ErrorType") == "InvalidRequestContentException"
    assert json.loads(body)["message"]
    assert_serves(short_daemon)


def test_oversized_headers_get_431(short_daemon):
    with connect(short_daemon) as s:
        s.sendall(b"GET /lambent/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
        status, _, body = read_response(s)
    assert status == 431, body
    assert json.loads(body)["message"]


@pytest.mark.parametrize("coding", ["gzip", "gzip, chunked", "deflate"])
def test_an_unsupported_transfer_coding_is_refused_with_501(short_daemon, coding):
    target = f"{FUNCTIONS}/any/invocations"
    with connect(short_daemon) as s:
        s.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {coding}\r\n\r\n"
                  .encode() + b"5\r\nhello\r\n0\r\n\r\n")
        status, headers, body = read_response(s)
    assert status == 501, body
    assert header(headers, "x-amzn-ErrorType") == "NotImplementedException"
    assert "Transfer-Encoding" in json.loads(body)["message"]
    assert_serves(short_daemon)


# --- memory ------------------------------------------------------------------------------------

def test_slow_large_uploads_do_not_hold_their_bodies_in_memory(make_daemon):
    daemon = make_daemon("--http-body-timeout-ms", "20000").start()
    pid = daemon.proc.pid
    before = rss_kib(pid)
    chunk = b"A" * (1 << 20)
    uploads = []
    try:
        for _ in range(6):
            s = connect(daemon, timeout=30)
            s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 62914560\r\n\r\n")
            uploads.append(s)
        for _ in range(50):  # 50 of the 60 MB each, never the rest
            for s in uploads:
                s.sendall(chunk)
        time.sleep(0.5)
        grown_mib = (rss_kib(pid) - before) / 1024
        assert grown_mib < 80, f"RSS grew {grown_mib:.0f} MiB holding 6 x 50 MB of unfinished bodies"
        assert_serves(daemon)
    finally:
        for s in uploads:
            s.close()
    time.sleep(0.3)
    # The spool files were never visible and are gone with their connections.
    assert list((daemon.data_dir / "spool").iterdir()) == []


def test_a_spooled_upload_completes_and_creates_the_function(daemon):
    # A ~20 MB CreateFunction (over the in-memory threshold) goes through the spool file.
    import base64
    from conftest import make_zip
    package = make_zip({"app.py": SLEEPER, "blob.bin": os.urandom(15 << 20)})
    body = {"FunctionName": "spooled", "Runtime": "python3.11", "Handler": "app.handler",
            "Role": "arn:aws:iam::000000000000:role/test",
            "Code": {"ZipFile": base64.b64encode(package).decode()}}
    status, _, data = daemon.request("POST", FUNCTIONS, body)
    assert status == 201, data[:300]
    assert json.loads(data)["CodeSize"] == len(package)
    status, _, data = daemon.invoke("spooled", b"{}")
    assert status == 200 and json.loads(data) == {"ok": True}


# --- descriptors -------------------------------------------------------------------------------

def test_out_of_descriptors_the_accept_loop_waits_instead_of_spinning_and_recovers(limited_daemon):
    daemon = limited_daemon(128, "--http-max-connections", "1000",
                            "--http-idle-timeout-ms", "30000", "--prestart", "0").start()
    pid = daemon.proc.pid
    clients = []
    try:
        for _ in range(200):  # the kernel queues what the daemon cannot accept
            clients.append(connect(daemon))
        time.sleep(0.5)
        assert open_fds(pid) >= 120
        cpu_before = cpu_seconds(pid)
        time.sleep(1.5)
        cpu_used = cpu_seconds(pid) - cpu_before
        assert cpu_used < 0.3, f"the daemon used {cpu_used:.2f} s of CPU in 1.5 s at the fd limit"
    finally:
        for s in clients:
            s.close()
    assert_serves(daemon)
    log = daemon.log()
    assert log.count("pausing accepts") <= 3, log[-2000:]


def test_new_environments_are_throttled_with_429_before_descriptors_run_out(limited_daemon):
    # 256 descriptors: 128 reserved, 64 for connections, 64 for environments (10 of them).
    daemon = limited_daemon(256, "--prestart", "0").start()
    daemon.create("fd-sleeper", {"app.py": SLEEPER}, Timeout=10)

    def call(_):
        return daemon.invoke("fd-sleeper", b'{"sleep": 1}', timeout=30)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(16)))
    statuses = sorted(status for status, _, _ in results)
    assert set(statuses) <= {200, 429}, [(s, b[:200]) for s, _, b in results if s not in (200, 429)]
    assert statuses.count(200) >= 8 and statuses.count(429) >= 4, statuses
    throttled = next(body for status, _, body in results if status == 429)
    assert json.loads(throttled)["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert "Too many open files" not in daemon.log()
    # Once they finish, the warm environments serve again.
    status, _, _ = daemon.invoke("fd-sleeper", b"{}")
    assert status == 200
