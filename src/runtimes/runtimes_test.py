"""Tests for lambent's built-in runtime bootstraps (python/bootstrap.py, node/bootstrap.cjs).

Run:  /usr/bin/python3 -m pytest src/runtimes/runtimes_test.py -q

Each test starts an in-process fake Runtime API (ThreadingHTTPServer on 127.0.0.1:0) that serves
queued events on /next and records every response / error / init error, then runs a bootstrap as
a subprocess against it with a temporary code directory. Every wait is bounded and every
subprocess is killed at the end of its test. Streamed (chunked) responses are decoded by the fake
itself, which records each chunk with its arrival time, and the trailers.
"""

import base64
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PY_BOOTSTRAP = os.path.join(HERE, "python", "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(HERE, "node", "bootstrap.cjs")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
NODE = shutil.which("node") or "/usr/bin/node"
WAIT = 15.0  # seconds any single wait may take
API_PREFIX = "/2018-06-01/runtime"

needs_node = pytest.mark.skipif(not os.path.exists(NODE), reason="node is not installed")


# ------------------------------------------------------------------------------------------------
# Fake Runtime API
# ------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        api = self.server.api
        with api.cond:
            api.connections += 1

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=None, chunked=False):
        api = self.server.api
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if api.close_connections:
            self.send_header("Connection", "close")
            self.close_connection = True
        if chunked and body:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # Uneven chunks with an extension and a trailer, to exercise the parsers.
            pieces = [body[:1], body[1:7], body[7:]]
            out = b""
            for p in pieces:
                if p:
                    out += b"%x;ext=1\r\n" % len(p) + p + b"\r\n"
            out += b"0\r\nX-Trailer: yes\r\n\r\n"
            self.wfile.write(out)
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        api = self.server.api
        if self.path == "/lambent/v1/runtime/assignment":
            with api.cond:
                api.assignment_requests += 1
                api.cond.notify_all()
            api.assigned.wait(WAIT)
            self._reply(200, json.dumps(api.assignment).encode(), {"Content-Type": "application/json"})
            return
        if self.path != API_PREFIX + "/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        with api.cond:
            api.next_requests += 1
            api.cond.notify_all()
        while True:
            try:
                ev = api.events.get(timeout=0.05)
                break
            except queue.Empty:
                if api.stopping:
                    self.close_connection = True
                    return
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": ev["id"],
            "Lambda-Runtime-Deadline-Ms": str(ev["deadline"]),
            "Lambda-Runtime-Invoked-Function-Arn": ev["arn"],
            "Lambda-Runtime-Trace-Id": ev["trace"],
        }
        headers.update(ev.get("headers") or {})
        self._reply(200, ev["body"], headers, chunked=api.chunked)

    def _read_chunked(self, rec):
        """Decodes a chunked body into rec["chunks"] ([arrival time, bytes]) and rec["trailers"]
        as it arrives, so a test can watch a stream still in progress. False when the stream was
        cut off: by the runtime going away, or by the fake (api.stream_limit), answering early."""
        api = self.server.api
        received = 0
        while True:
            line = self.rfile.readline(65537)
            if not line:  # the runtime went away mid-stream
                self.close_connection = True
                return False
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            data = self.rfile.read(size)
            assert len(data) == size and self.rfile.read(2) == b"\r\n", "bad chunk framing"
            received += size
            with api.cond:
                rec["chunks"].append((time.time(), data))
                api.cond.notify_all()
            if api.stream_limit is not None and received > api.stream_limit:
                self._reply(413, b'{"errorType":"ResponseSizeTooLarge"}', {"Connection": "close"})
                self.close_connection = True
                return False
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                return True
            name, _, value = line.decode("latin-1").partition(":")
            rec["trailers"][name.strip().lower()] = value.strip()

    def do_POST(self):
        api = self.server.api
        path = self.path
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = {"path": path, "headers": headers, "chunks": [], "trailers": {}, "done": False}
        if "chunked" in headers.get("transfer-encoding", ""):
            with api.cond:
                api.streams.append(rec)
                api.cond.notify_all()
            time.sleep(api.stream_read_delay)
            rec["read_start"] = time.time()
            if not self._read_chunked(rec):
                return
            body = b"".join(c for _, c in rec["chunks"])
            rec["done"] = True
        else:
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n) if n else b""
        # What the bootstrap had written to stdout before it posted: read before we answer.
        stdout = api.snapshot() if api.snapshot else b""
        rec.update(body=body, stdout=stdout, time=time.time())
        try:
            rec["json"] = json.loads(body) if body else None
        except ValueError:
            rec["json"] = None
        if path == API_PREFIX + "/init/error":
            rec["kind"], rec["id"] = "init_error", None
        elif path.startswith(API_PREFIX + "/invocation/") and path.endswith(("/response", "/error")):
            rest = path[len(API_PREFIX + "/invocation/"):]
            rec["id"], _, rec["kind"] = rest.rpartition("/")
        else:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
        with api.cond:
            api.results.append(rec)
            api.cond.notify_all()


class FakeRuntimeAPI:
    def __init__(self, close_connections=False, chunked=False):
        self.events = queue.Queue()
        self.results = []
        self.cond = threading.Condition()
        self.connections = 0
        self.next_requests = 0
        self.stopping = False
        self.close_connections = close_connections
        self.chunked = chunked
        self.snapshot = None
        self.assignment_requests = 0
        self.assignment = None  # what a prestarted runtime is given once `assigned` is set
        self.assigned = threading.Event()
        self.streams = []  # chunked POSTs, from their first byte on
        self.stream_read_delay = 0.0  # seconds before the fake starts reading a chunked body
        self.stream_limit = None  # bytes after which a chunked body is answered 413 and cut off
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.api = self
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add_event(self, payload, request_id=None, deadline_ms=None, headers=None, raw=None):
        rid = request_id or str(uuid.uuid4())
        body = raw if raw is not None else json.dumps(payload).encode()
        self.events.put({
            "id": rid,
            "body": body,
            "deadline": deadline_ms or int(time.time() * 1000) + 30000,
            "arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "trace": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "headers": headers,
        })
        return rid

    def wait_results(self, n, timeout=WAIT):
        end = time.time() + timeout
        with self.cond:
            while len(self.results) < n:
                left = end - time.time()
                if left <= 0:
                    raise AssertionError("timed out waiting for %d results; got %r" % (n, self.results))
                self.cond.wait(left)
            return list(self.results)

    def wait_next_requests(self, n, timeout=WAIT):
        end = time.time() + timeout
        with self.cond:
            while self.next_requests < n:
                left = end - time.time()
                if left <= 0:
                    raise AssertionError("timed out waiting for %d GET /next" % n)
                self.cond.wait(left)

    def stop(self):
        self.stopping = True
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------
# Subprocess handling
# ------------------------------------------------------------------------------------------------


class PipeCollector:
    """Collects a pipe's bytes. snapshot() returns everything written so far, deterministically:
    it drains whatever is in the pipe under the same lock the reader thread uses."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.eof = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.eof:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                self.eof = True
                return
            if not data:
                self.eof = True
                return
            self.buf += data

    def _run(self):
        while not self.eof:
            try:
                select.select([self.fd], [], [], 0.05)
            except (OSError, ValueError):
                return
            with self.lock:
                self._drain()

    def snapshot(self):
        with self.lock:
            self._drain()
            return bytes(self.buf)

    def text(self):
        return self.snapshot().decode("utf-8", "replace")


class Runtime:
    def __init__(self, lang, code_dir, handler, api, extra_env=None):
        cmd = [PYTHON, PY_BOOTSTRAP] if lang == "python" else [NODE, NODE_BOOTSTRAP]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": os.path.dirname(cmd[1]),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }
        env.update(extra_env or {})
        self.code_dir = str(code_dir)
        self.proc = subprocess.Popen(cmd, cwd=str(code_dir), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = PipeCollector(self.proc.stdout)
        self.err = PipeCollector(self.proc.stderr)
        api.snapshot = self.out.snapshot

    def wait_exit(self, timeout=WAIT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("runtime did not exit; stdout=%r stderr=%r"
                                 % (self.out.text(), self.err.text()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for c in (self.out, self.err):
            c.thread.join(2)
            try:
                c.pipe.close()
            except OSError:
                pass


class Harness:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.apis = []
        self.runtimes = []

    def code(self, files):
        d = self.tmp_path / ("code-%d" % len(self.runtimes))
        for name, text in files.items():
            p = d / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def start(self, lang, files, handler, env=None, **api_opts):
        api = FakeRuntimeAPI(**api_opts)
        self.apis.append(api)
        rt = Runtime(lang, self.code(files), handler, api, env)
        self.runtimes.append(rt)
        return api, rt

    def close(self):
        for rt in self.runtimes:
            rt.stop()
        for api in self.apis:
            api.stop()


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def one(api, rid, timeout=WAIT):
    """Waits for the result (response or error) of request rid."""
    end = time.time() + timeout
    with api.cond:
        while True:
            for r in api.results:
                if r["id"] == rid:
                    return r
            left = end - time.time()
            if left <= 0:
                raise AssertionError("no result for %s; got %r" % (rid, api.results))
            api.cond.wait(left)


# ================================================================================================
# Python
# ================================================================================================

PY_APP = """
import json, logging, os, sys

logging.getLogger().setLevel(logging.INFO)

def handler(event, context):
    return {"echo": event, "n": 1}

def fails(event, context):
    raise ValueError("bad value: %s" % event.get("x"))

def ctx(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if context.client_context is None else {
            "custom": context.client_context.custom,
            "env": context.client_context.env,
            "installation_id": context.client_context.client.installation_id,
        },
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
    }

def partial_print(event, context):
    sys.stdout.write("partial-" + context.aws_request_id)   # no newline: only a flush shows it
    sys.stderr.write("err-" + context.aws_request_id)
    return "ok"

def big_print(event, context):
    for i in range(3000):
        print("line %d %s" % (i, "x" * 100))
    print("last-" + context.aws_request_id)
    return "ok"

def logs(event, context):
    logging.info("info message %s", 42)
    logging.debug("hidden debug")
    return None

def unserialisable(event, context):
    return {"s": {1, 2}}

def raw_bytes(event, context):
    return b"\\x00\\x01raw"

def decimal_result(event, context):
    import decimal
    return {"i": decimal.Decimal("3"), "f": decimal.Decimal("1.5")}

def exits(event, context):
    sys.exit(3)
"""


ASSIGNED_PY = '''
import os
print("imported with STAGE=%s" % os.environ.get("STAGE"))

def handler(event, context):
    return {"stage": os.environ.get("STAGE"), "name": context.function_name,
            "waiting": os.environ.get("LAMBENT_AWAIT_ASSIGNMENT"), "cwd": os.getcwd()}
'''

ASSIGNED_JS = '''
console.log(`imported with STAGE=${process.env.STAGE}`);
exports.handler = async (event, context) => ({stage: process.env.STAGE, name: context.functionName,
  waiting: process.env.LAMBENT_AWAIT_ASSIGNMENT ?? null, cwd: process.cwd()});
'''


@pytest.mark.parametrize("lang", ["python", pytest.param("node", marks=needs_node)])
def test_a_prestarted_runtime_loads_the_function_it_is_assigned(h, lang):
    files, module = ({"app.py": ASSIGNED_PY}, "app") if lang == "python" else ({"index.js": ASSIGNED_JS}, "index")
    # Started with none of the function's variables, in another directory.
    api, rt = h.start(lang, files, "", env={"LAMBENT_AWAIT_ASSIGNMENT": "1", "AWS_LAMBDA_FUNCTION_NAME": ""})
    with api.cond:
        assert api.cond.wait_for(lambda: api.assignment_requests == 1, WAIT)
    time.sleep(0.2)
    assert api.next_requests == 0 and "imported" not in rt.out.text(), "the code was loaded before its assignment"
    api.assignment = {"Environment": {"_HANDLER": module + ".handler", "STAGE": "two",
                                      "AWS_LAMBDA_FUNCTION_NAME": "assigned", "LAMBDA_TASK_ROOT": rt.code_dir}}
    api.assigned.set()
    rid = api.add_event({})
    r = one(api, rid)
    assert r["json"] == {"stage": "two", "name": "assigned", "waiting": None, "cwd": rt.code_dir}, r
    assert "imported with STAGE=two" in rt.out.text()


def test_python_sync_handler_result(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.handler")
    rid = api.add_event({"a": [1, 2, "é"]})
    r = one(api, rid)
    assert r["kind"] == "response"
    assert r["json"] == {"echo": {"a": [1, 2, "é"]}, "n": 1}
    assert r["headers"]["content-type"] == "application/json"
    # empty payload -> {} ; JSON null -> None
    rid2 = api.add_event(None, raw=b"")
    assert one(api, rid2)["json"] == {"echo": {}, "n": 1}
    rid3 = api.add_event(None)
    assert one(api, rid3)["json"] == {"echo": None, "n": 1}


def test_python_handler_exception_shape(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.fails")
    rid = api.add_event({"x": "boom"})
    r = one(api, rid)
    assert r["kind"] == "error"
    assert r["headers"]["lambda-runtime-function-error-type"] == "ValueError"
    body = r["json"]
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad value: boom"
    assert body["requestId"] == rid
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]
    assert all("bootstrap.py" not in line for line in body["stackTrace"])
    assert 'app.py", line' in body["stackTrace"][0] and "in fails" in body["stackTrace"][0]
    # The runtime keeps serving after an error.
    rid2 = api.add_event({"x": "again"})
    assert one(api, rid2)["json"]["errorMessage"] == "bad value: again"
    err = rt.err.text()
    assert "[ERROR] ValueError: bad value: boom" in err
    assert "Traceback (most recent call last):" in err


def test_python_import_error(h):
    api, rt = h.start("python", {"other.py": "x = 1\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["kind"] == "init_error"
    assert r["headers"]["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    assert r["json"] == {"errorMessage": "Unable to import module 'app': No module named 'app'",
                         "errorType": "Runtime.ImportModuleError", "requestId": "",
                         "stackTrace": []}
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'app'" in rt.err.text()


def test_python_missing_dependency_is_import_error(h):
    api, rt = h.start("python", {"app.py": "import not_installed_pkg\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Runtime.ImportModuleError"
    assert r["json"]["errorMessage"] == \
        "Unable to import module 'app': No module named 'not_installed_pkg'"


def test_python_handler_not_found(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.nope")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["kind"] == "init_error"
    assert r["json"]["errorType"] == "Runtime.HandlerNotFound"
    assert r["json"]["errorMessage"] == "Handler 'nope' missing on module 'app'"


def test_python_syntax_error(h):
    api, rt = h.start("python", {"app.py": "def handler(:\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Runtime.UserCodeSyntaxError"
    assert r["json"]["errorMessage"].startswith("Syntax error in module 'app': ")
    assert "app.py" in r["json"]["stackTrace"][0]


def test_python_malformed_handler(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "nodot")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Runtime.MalformedHandlerName"
    assert r["json"]["errorMessage"].startswith("Bad handler 'nodot'")


def test_python_init_exception(h):
    api, rt = h.start("python", {"app.py": "raise KeyError('cfg')\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "KeyError"
    assert r["json"]["errorMessage"] == "'cfg'"
    assert any("app.py" in line for line in r["json"]["stackTrace"])


def test_python_context_fields_and_remaining_time(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.ctx")
    cc = {"client": {"installation_id": "inst-1", "app_title": "t"}, "custom": {"k": "v"},
          "env": {"platform": "x"}}
    ident = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    deadline = int(time.time() * 1000) + 5000
    rid = api.add_event({}, deadline_ms=deadline, headers={
        "Lambda-Runtime-Client-Context": json.dumps(cc),
        "Lambda-Runtime-Cognito-Identity": json.dumps(ident)})
    body = one(api, rid)["json"]
    assert body["function_name"] == "fn"
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert body["memory_limit_in_mb"] == "256"  # a string, as in AWS's awslambdaric
    assert body["aws_request_id"] == rid
    assert body["log_group_name"] == "/aws/lambda/fn"
    assert body["log_stream_name"] == "2024/01/01/[$LATEST]0123456789abcdef"
    assert 0 < body["remaining"] <= 5000
    assert body["identity"] == ["id-1", "pool-1"]
    assert body["client_context"] == {"custom": {"k": "v"}, "env": {"platform": "x"},
                                      "installation_id": "inst-1"}
    assert body["trace"].startswith("Root=1-5759e988")
    assert os.path.realpath(body["cwd"]) == os.path.realpath(rt.code_dir)
    # Without the optional headers: identity is an object with None fields, client_context None.
    rid2 = api.add_event({})
    body2 = one(api, rid2)["json"]
    assert body2["identity"] == [None, None] and body2["client_context"] is None


def test_python_nested_module_path(h):
    files = {"src/pkg/app.py": "def handler(e, c):\n    return 'nested'\n"}
    api, rt = h.start("python", files, "src/pkg/app.handler")
    assert one(api, api.add_event({}))["json"] == "nested"


def test_python_task_root_first_on_sys_path(h):
    # A module in the code directory shadows a standard-library module of the same name.
    files = {"app.py": "import calendar\ndef handler(e, c):\n    return calendar.MINE\n",
             "calendar.py": "MINE = 'mine'\n"}
    api, rt = h.start("python", files, "app.handler")
    assert one(api, api.add_event({}))["json"] == "mine"


def test_python_marshal_error_bytes_and_decimal(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.unserialisable")
    r = one(api, api.add_event({}))
    assert r["kind"] == "error"
    assert r["json"]["errorType"] == "Runtime.MarshalError"
    assert r["json"]["errorMessage"].startswith("Unable to marshal response:")

    api2, rt2 = h.start("python", {"app.py": PY_APP}, "app.raw_bytes")
    r2 = one(api2, api2.add_event({}))
    assert r2["body"] == b"\x00\x01raw"
    assert r2["headers"]["content-type"] == "application/unknown"

    api3, rt3 = h.start("python", {"app.py": PY_APP}, "app.decimal_result")
    assert one(api3, api3.add_event({}))["json"] == {"i": 3, "f": 1.5}


def test_python_logging_format(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.logs")
    rid = api.add_event({})
    r = one(api, rid)
    assert r["json"] is None
    lines = [l for l in r["stdout"].decode().splitlines() if "info message" in l]
    assert len(lines) == 1
    level, ts, req, msg = lines[0].split("\t")
    assert level == "[INFO]" and req == rid and msg == "info message 42"
    assert ts.endswith("Z") and "T" in ts and len(ts) == len("2024-01-01T00:00:00.000Z")
    assert "hidden debug" not in r["stdout"].decode()


PY_LAZY_LOGGING_APP = """
import sys

def handler(event, context):
    loaded_before = "logging" in sys.modules or "socket" in sys.modules
    import logging
    logging.getLogger().setLevel(logging.INFO)
    logging.info("late %s", 7)
    return {"loaded_before": loaded_before}
"""


def test_python_logging_is_set_up_when_the_handler_first_imports_it(h):
    # The bootstrap imports neither logging nor socket itself (~12 ms of every cold start);
    # the root logger still gets Lambda's format the moment the function imports logging.
    api, rt = h.start("python", {"app.py": PY_LAZY_LOGGING_APP}, "app.handler")
    rid = api.add_event({})
    r = one(api, rid)
    assert r["json"] == {"loaded_before": False}
    (line,) = [l for l in r["stdout"].decode().splitlines() if "late 7" in l]
    level, _, req, msg = line.split("\t")
    assert (level, req, msg) == ("[INFO]", rid, "late 7")


def test_python_reaches_a_runtime_api_given_by_host_name(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.handler")
    rt.stop()
    port = api.address.rsplit(":", 1)[1]
    rt = Runtime("python", rt.code_dir, "app.handler", api, {"AWS_LAMBDA_RUNTIME_API": "localhost:" + port})
    h.runtimes.append(rt)
    assert one(api, api.add_event({"a": 1}))["json"] == {"echo": {"a": 1}, "n": 1}


def test_python_output_flushed_before_response(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.partial_print")
    rid = api.add_event({})
    r = one(api, rid)
    assert ("partial-" + rid).encode() in r["stdout"]
    rid = api.add_event({})
    r = one(api, rid)
    assert ("partial-" + rid).encode() in r["stdout"]
    assert "err-" + rid in rt.err.text()


def test_python_large_output_before_response(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.big_print")
    rid = api.add_event({})
    r = one(api, rid)
    assert ("last-" + rid).encode() in r["stdout"]


def test_python_keep_alive(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.handler")
    ids = [api.add_event({"i": i}) for i in range(8)]
    for i, rid in enumerate(ids):
        assert one(api, rid)["json"]["echo"] == {"i": i}
    api.wait_next_requests(9)
    assert api.connections == 1


def test_python_reconnects_and_chunked(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.handler", close_connections=True,
                      chunked=True)
    ids = [api.add_event({"i": i, "pad": "y" * 50}) for i in range(3)]
    for i, rid in enumerate(ids):
        r = one(api, rid)
        assert r["kind"] == "response" and r["json"]["echo"]["i"] == i
    assert api.connections >= 6  # a new connection for every request


def test_python_sys_exit_in_handler_ends_process(h):
    api, rt = h.start("python", {"app.py": PY_APP}, "app.exits")
    api.add_event({})
    assert rt.wait_exit() == 3
    assert api.results == []


# ================================================================================================
# Node
# ================================================================================================

NODE_CJS = """
const seen = [];
exports.handler = async (event, context) => {
  console.log('hello', {a: 1});
  return { echo: event, kind: 'cjs', type: typeof require };
};
exports.nested = { inner: async () => 'nested-ok' };
exports.ctx = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  identity: context.identity,
  clientContext: context.clientContext,
  remaining: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
  legacy: [typeof context.done, typeof context.succeed, typeof context.fail],
  trace: process.env._X_AMZN_TRACE_ID,
});
exports.throws = async () => { const e = new TypeError('bad thing'); throw e; };
exports.throwsSync = (event, context, callback) => { throw new RangeError('sync bad'); };
exports.throwsString = async () => { throw 'just a string'; };
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', n: event.n }), 10);
};
exports.callbackErr = (event, context, callback) => { callback(new Error('cb failed')); };
exports.callbackWaits = (event, context, callback) => {
  // callbackWaitsForEmptyEventLoop = true: the response waits for this timer.
  setTimeout(() => { globalThis.timerFired = true; }, 1000);
  callback(null, Date.now());
};
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 1000);
  callback(null, Date.now());
};
exports.succeed = (event, context) => { setTimeout(() => context.succeed('legacy-ok'), 5); };
exports.syncValue = (event) => 42;
exports.partial = async (event, context) => {
  process.stdout.write('partial-' + context.awsRequestId);
  return 'ok';
};
exports.big = async (event, context) => {
  for (let i = 0; i < 3000; i++) console.log('line', i, 'x'.repeat(100));
  console.log('last-' + context.awsRequestId);
  return 'ok';
};
exports.levels = async () => {
  console.info('i'); console.warn('w'); console.error('e'); console.debug('d');
  return null;
};
exports.rejectLater = async () => {
  Promise.reject(new Error('nobody catches me'));
  await new Promise((r) => setTimeout(r, 200));
  return 'unreachable';
};
exports.circular = async () => { const o = {}; o.o = o; return o; };
"""


@needs_node
def test_node_cjs_handler(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.handler")
    rid = api.add_event({"x": [1, "é"]})
    r = one(api, rid)
    assert r["kind"] == "response"
    assert r["json"] == {"echo": {"x": [1, "é"]}, "kind": "cjs", "type": "function"}
    assert r["headers"]["content-type"] == "application/json"
    # console.log line format: time \t request id \t INFO \t message
    line = [l for l in r["stdout"].decode().splitlines() if "hello" in l][0]
    ts, req, level, msg = line.split("\t")
    assert req == rid and level == "INFO" and msg == "hello { a: 1 }"
    assert ts.endswith("Z") and len(ts) == len("2024-01-01T00:00:00.000Z")
    # empty payload -> {}
    assert one(api, api.add_event(None, raw=b""))["json"]["echo"] == {}


@needs_node
def test_node_nested_handler_and_module_path(h):
    files = {"src/lib/app.js": NODE_CJS}
    api, rt = h.start("node", files, "src/lib/app.nested.inner")
    assert one(api, api.add_event({}))["json"] == "nested-ok"


@needs_node
def test_node_esm_mjs(h):
    files = {"app.mjs": "export const handler = async (event) => ({ esm: true, got: event.v, "
                        "meta: typeof import.meta.url });\n"}
    api, rt = h.start("node", files, "app.handler")
    assert one(api, api.add_event({"v": 7}))["json"] == {"esm": True, "got": 7, "meta": "string"}


@needs_node
def test_node_esm_type_module_package(h):
    files = {
        "package.json": json.dumps({"name": "fn", "type": "module"}),
        "src/app.js": "import { helper } from './helper.js';\n"
                      "const config = await Promise.resolve('tla');\n"
                      "export async function handler(event) { return helper(event) + ':' + config; }\n",
        "src/helper.js": "export const helper = (e) => 'esm-js-' + e.n;\n",
    }
    api, rt = h.start("node", files, "src/app.handler")
    assert one(api, api.add_event({"n": 3}))["json"] == "esm-js-3:tla"


@needs_node
def test_node_cjs_extension(h):
    files = {"package.json": json.dumps({"type": "module"}),
             "app.cjs": "module.exports.handler = async () => 'from-cjs:' + typeof module;\n"}
    api, rt = h.start("node", files, "app.handler")
    assert one(api, api.add_event({}))["json"] == "from-cjs:object"


@needs_node
def test_node_context_fields(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.ctx")
    cc = {"client": {"installation_id": "inst-1"}, "custom": {"k": "v"}, "env": {"p": "x"}}
    ident = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    rid = api.add_event({}, deadline_ms=int(time.time() * 1000) + 5000, headers={
        "Lambda-Runtime-Client-Context": json.dumps(cc),
        "Lambda-Runtime-Cognito-Identity": json.dumps(ident)})
    b = one(api, rid)["json"]
    assert b["functionName"] == "fn" and b["functionVersion"] == "$LATEST"
    assert b["invokedFunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert b["memoryLimitInMB"] == "256"
    assert b["awsRequestId"] == rid
    assert b["logGroupName"] == "/aws/lambda/fn"
    assert b["logStreamName"] == "2024/01/01/[$LATEST]0123456789abcdef"
    assert b["identity"] == ident and b["clientContext"] == cc
    assert 0 < b["remaining"] <= 5000
    assert b["waits"] is True
    assert b["legacy"] == ["function", "function", "function"]
    assert b["trace"].startswith("Root=1-5759e988")
    b2 = one(api, api.add_event({}))["json"]
    assert "identity" not in b2 and "clientContext" not in b2  # undefined when absent


@needs_node
def test_node_async_thrown_error_shape(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.throws")
    rid = api.add_event({})
    r = one(api, rid)
    assert r["kind"] == "error"
    assert r["headers"]["lambda-runtime-function-error-type"] == "TypeError"
    b = r["json"]
    assert b["errorType"] == "TypeError" and b["errorMessage"] == "bad thing"
    assert b["trace"][0] == "TypeError: bad thing"
    assert any("index.js" in l for l in b["trace"])
    log = [l for l in r["stdout"].decode().splitlines() if "Invoke Error" in l][0]
    assert log.split("\t")[1:3] == [rid, "ERROR"]
    assert json.loads(log.split("\t")[-1])["errorMessage"] == "bad thing"
    # Still serving.
    assert one(api, api.add_event({}))["kind"] == "error"


@needs_node
def test_node_sync_throw_and_non_error_values(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.throwsSync")
    r = one(api, api.add_event({}))
    assert r["json"]["errorType"] == "RangeError" and r["json"]["errorMessage"] == "sync bad"

    api2, rt2 = h.start("node", {"index.js": NODE_CJS}, "index.throwsString")
    r2 = one(api2, api2.add_event({}))
    assert r2["kind"] == "error"
    assert r2["json"] == {"errorType": "string", "errorMessage": "just a string", "trace": []}
    assert r2["headers"]["lambda-runtime-function-error-type"] == "string"


@needs_node
def test_node_callback_handlers(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.callback")
    ids = [api.add_event({"n": i}) for i in range(3)]
    for i, rid in enumerate(ids):
        assert one(api, rid)["json"] == {"via": "callback", "n": i}

    api2, rt2 = h.start("node", {"index.js": NODE_CJS}, "index.callbackErr")
    r = one(api2, api2.add_event({}))
    assert r["kind"] == "error" and r["json"]["errorMessage"] == "cb failed"

    api3, rt3 = h.start("node", {"index.js": NODE_CJS}, "index.succeed")
    assert one(api3, api3.add_event({}))["json"] == "legacy-ok"


@needs_node
def test_node_callback_waits_for_empty_event_loop(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.callbackWaits")
    r = one(api, api.add_event({}))
    assert r["time"] * 1000 - r["json"] >= 900  # waited for the 1000 ms timer

    api2, rt2 = h.start("node", {"index.js": NODE_CJS}, "index.callbackNoWait")
    r2 = one(api2, api2.add_event({}))
    assert r2["time"] * 1000 - r2["json"] < 700  # did not wait


@needs_node
def test_node_sync_handler_without_callback_returns_null(h):
    # AWS semantics: a non-promise return value is ignored; with no callback the invocation
    # ends with null once the event loop is empty.
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.syncValue")
    r = one(api, api.add_event({}))
    assert r["kind"] == "response" and r["json"] is None


@needs_node
def test_node_import_error(h):
    api, rt = h.start("node", {"other.js": "exports.x = 1;\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["kind"] == "init_error"
    assert r["headers"]["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    assert r["json"]["errorType"] == "Runtime.ImportModuleError"
    assert r["json"]["errorMessage"].startswith("Error: Cannot find module 'app'")
    assert isinstance(r["json"]["trace"], list)


@needs_node
def test_node_missing_dependency_is_import_error(h):
    for name, text in (("app.js", "require('not-installed-pkg');\n"),
                       ("app.mjs", "import 'not-installed-pkg';\n")):
        api, rt = h.start("node", {name: text}, "app.handler")
        assert rt.wait_exit() != 0
        (r,) = api.wait_results(1)
        assert r["json"]["errorType"] == "Runtime.ImportModuleError", name
        assert "not-installed-pkg" in r["json"]["errorMessage"]


@needs_node
def test_node_handler_not_found_and_malformed(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.nope")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Runtime.HandlerNotFound"
    assert r["json"]["errorMessage"] == "index.nope is undefined or not exported"

    api2, rt2 = h.start("node", {"index.js": NODE_CJS}, "index")
    assert rt2.wait_exit() != 0
    assert api2.wait_results(1)[0]["json"]["errorType"] == "Runtime.MalformedHandlerName"


@needs_node
def test_node_syntax_error(h):
    api, rt = h.start("node", {"app.js": "exports.handler = async () => {\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Runtime.UserCodeSyntaxError"
    assert r["json"]["errorMessage"].startswith("SyntaxError: ")


@needs_node
def test_node_init_exception(h):
    api, rt = h.start("node", {"app.js": "throw new Error('init exploded');\n"}, "app.handler")
    assert rt.wait_exit() != 0
    (r,) = api.wait_results(1)
    assert r["json"]["errorType"] == "Error" and r["json"]["errorMessage"] == "init exploded"


@needs_node
def test_node_unhandled_rejection_reports_and_exits(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.rejectLater")
    rid = api.add_event({})
    r = one(api, rid)
    assert r["kind"] == "error"
    assert r["json"]["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert r["json"]["errorMessage"] == "Error: nobody catches me"
    assert rt.wait_exit() == 128


@needs_node
def test_node_marshal_error(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.circular")
    r = one(api, api.add_event({}))
    assert r["kind"] == "error"
    assert r["json"]["errorMessage"] == "Unable to stringify response body"
    assert one(api, api.add_event({}))["kind"] == "error"  # still serving


@needs_node
def test_node_console_levels(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.levels")
    rid = api.add_event({})
    r = one(api, rid)
    got = [l.split("\t")[2:] for l in r["stdout"].decode().splitlines() if rid in l]
    assert got == [["INFO", "i"], ["WARN", "w"], ["ERROR", "e"], ["DEBUG", "d"]]


@needs_node
def test_node_output_flushed_before_response(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.partial")
    for _ in range(2):
        rid = api.add_event({})
        assert ("partial-" + rid).encode() in one(api, rid)["stdout"]
    api2, rt2 = h.start("node", {"index.js": NODE_CJS}, "index.big")
    rid = api2.add_event({})
    assert ("last-" + rid).encode() in one(api2, rid)["stdout"]


@needs_node
def test_node_keep_alive(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.handler")
    ids = [api.add_event({"i": i}) for i in range(8)]
    for i, rid in enumerate(ids):
        assert one(api, rid)["json"]["echo"] == {"i": i}
    api.wait_next_requests(9)
    assert api.connections == 1


@needs_node
def test_node_reconnects_and_chunked(h):
    api, rt = h.start("node", {"index.js": NODE_CJS}, "index.handler", close_connections=True,
                      chunked=True)
    ids = [api.add_event({"i": i, "pad": "y" * 50}) for i in range(3)]
    for i, rid in enumerate(ids):
        r = one(api, rid)
        assert r["kind"] == "response" and r["json"]["echo"]["i"] == i
    assert api.connections >= 6


@pytest.mark.parametrize("lang", ["python", pytest.param("node", marks=needs_node)])
def test_large_event_and_result(h, lang):
    files = {"app.py": "def handler(e, c):\n    return e\n",
             "app.js": "exports.handler = async (e) => e;\n"}
    api, rt = h.start(lang, files, "app.handler")
    payload = {"data": "z" * (5 * 1024 * 1024)}
    r = one(api, api.add_event(payload))
    assert r["kind"] == "response" and r["json"] == payload


# ------------------------------------------------------------------------------------------------
# Node: response streaming (awslambda.streamifyResponse)
# ------------------------------------------------------------------------------------------------

NODE_STREAMING = """
const { pipeline } = require('node:stream/promises');
const { Readable } = require('node:stream');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seenAtLoad = typeof awslambda;

exports.paced = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain; charset=utf-8');
  stream.write('first;');
  await sleep(event.pause);
  stream.write('second;');
  await sleep(event.pause);
  stream.end(`ended@${Date.now()}`);
});
exports.tooLate = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('a');
  try { stream.setContentType('x/y'); } catch (e) { stream.end(JSON.stringify({ name: e.name, message: e.message })); }
});
exports.prelude = awslambda.streamifyResponse(async (event, stream) => {
  stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { 'x-a': 'b' }, cookies: ['c=d'] });
  stream.write('hello ');
  await sleep(20);
  stream.end(Buffer.from('world'));
});
exports.preludeOnly = awslambda.streamifyResponse(async (event, stream) => {
  awslambda.HttpResponseStream.from(stream, { statusCode: 404 }).end();
});
exports.throwsMidStream = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('partial');
  await sleep(50);
  throw new TypeError('broke mid-stream');
});
exports.destroys = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('a');
  stream.destroy(new Error('destroyed it'));
});
exports.throwsSync = awslambda.streamifyResponse((event, stream) => { throw new RangeError('sync bad'); });
exports.notAsync = awslambda.streamifyResponse((event, stream) => { stream.end('done'); });
exports.objects = awslambda.streamifyResponse(async (event, stream) => {
  stream.write({ a: 1 });
  stream.cork();
  stream.write('x');
  stream.write(new Uint8Array([121]));
  stream.uncork();
  stream.end([2]);
});
exports.endsLater = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('before;');
  setTimeout(() => stream.end('after'), event.delay);
  return 'ignored';
});
exports.neverEnds = awslambda.streamifyResponse(async (event, stream) => { stream.write('x'); });
exports.big = awslambda.streamifyResponse(async (event, stream) => {
  const big = Buffer.alloc(event.size);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  stream.end(big);
});
exports.piped = awslambda.streamifyResponse(async (event, stream) => {
  const piece = Buffer.alloc(64 * 1024, 'p');
  async function* pieces() { for (let i = 0; i < event.pieces; i++) yield piece; }
  await pipeline(Readable.from(pieces()), stream);
  console.log(`wrote-all@${Date.now()}`);
});
exports.writesPastACap = awslambda.streamifyResponse(async (event, stream) => {
  const piece = Buffer.alloc(64 * 1024, 'c');
  let failed = null;
  for (let i = 0; i < 64 && failed === null; i++) {
    await new Promise((resolve) => stream.write(piece, (err) => { failed = err || null; resolve(); }));
  }
  console.log(`write failed: ${failed && failed.message}`);
  stream.end();
});
exports.small = awslambda.streamifyResponse(async (event, stream) => { stream.end('small:' + event.n); });
exports.rejectsLater = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('x');
  Promise.reject(new Error('nobody catches me'));
  await sleep(500);
});
exports.buffered = async () => ({ seenAtLoad, now: typeof awslambda, from: typeof globalThis.awslambda?.HttpResponseStream?.from });
"""


def stream_record(api, rid, timeout=WAIT):
    """The chunked POST for rid as soon as it starts (it may still be in progress)."""
    with api.cond:
        assert api.cond.wait_for(lambda: any(rid in r["path"] for r in api.streams), timeout), \
            "no stream for %s" % rid
        return next(r for r in api.streams if rid in r["path"])


def error_trailers(r):
    doc = json.loads(base64.b64decode(r["trailers"]["lambda-runtime-function-error-body"]))
    return r["trailers"]["lambda-runtime-function-error-type"], doc


@needs_node
def test_node_streamed_chunks_reach_the_api_while_the_handler_runs(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.paced")
    rid = api.add_event({"pause": 400})
    rec = stream_record(api, rid)
    with api.cond:
        assert api.cond.wait_for(lambda: rec["chunks"], WAIT)
        assert not rec["done"], "the first chunk only came with the end of the stream"
    r = one(api, rid)
    assert r["path"] == "%s/invocation/%s/response" % (API_PREFIX, rid)
    hd = r["headers"]
    assert hd["lambda-runtime-function-response-mode"] == "streaming"
    assert hd["transfer-encoding"] == "chunked" and "content-length" not in hd
    assert hd["content-type"] == "text/plain; charset=utf-8"
    assert hd["trailer"] == "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    assert r["body"].startswith(b"first;second;ended@") and r["trailers"] == {}
    assert [c for _, c in r["chunks"][:2]] == [b"first;", b"second;"]
    ended_ms = int(r["body"].split(b"@")[1])
    assert r["chunks"][0][0] * 1000 < ended_ms - 600  # two pauses of 400 ms still to come
    # The framing left the keep-alive connection usable.
    rid2 = api.add_event({"pause": 1})
    assert one(api, rid2)["body"].startswith(b"first;second;")
    assert api.connections == 1


@needs_node
def test_node_stream_content_type_is_fixed_by_the_first_write(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.tooLate")
    r = one(api, api.add_event({}))
    assert r["headers"]["content-type"] == "application/octet-stream"
    assert r["body"] == b'a{"name":"Runtime.InvalidStreamingOperation","message":"Cannot set content-type, too late."}'

    api2, rt2 = h.start("node", {"index.js": NODE_STREAMING}, "index.objects")
    assert one(api2, api2.add_event({}))["body"] == b'{"a":1}xy[2]'  # as AWS: non-bytes as JSON


@needs_node
def test_node_http_response_stream_writes_the_prelude_before_the_body(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.prelude")
    r = one(api, api.add_event({}))
    assert r["headers"]["content-type"] == "application/vnd.awslambda.http-integration-response"
    assert r["body"] == b'{"statusCode":201,"headers":{"x-a":"b"},"cookies":["c=d"]}' + b"\0" * 8 + b"hello world"
    assert r["trailers"] == {}

    # Also when the handler only ends the stream (AWS's client drops the prelude then).
    api2, rt2 = h.start("node", {"index.js": NODE_STREAMING}, "index.preludeOnly")
    r2 = one(api2, api2.add_event({}))
    assert r2["body"] == b'{"statusCode":404}' + b"\0" * 8


@needs_node
def test_node_stream_error_mid_stream_goes_in_the_trailers(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.throwsMidStream")
    rid = api.add_event({})
    r = one(api, rid)
    assert r["kind"] == "response" and r["body"] == b"partial"
    etype, doc = error_trailers(r)
    assert etype == "TypeError"
    assert doc["errorType"] == "TypeError" and doc["errorMessage"] == "broke mid-stream"
    assert doc["trace"][0] == "TypeError: broke mid-stream" and any("index.js" in l for l in doc["trace"])
    assert r["chunks"][0][1] == b"partial" and r["chunks"][0][0] < r["time"] - 0.03
    log = [l for l in r["stdout"].decode().splitlines() if "Invoke Error" in l]
    assert len(log) == 1 and log[0].split("\t")[1:3] == [rid, "ERROR"]
    # Still serving, on the same connection.
    assert error_trailers(one(api, api.add_event({})))[0] == "TypeError"
    assert api.connections == 1


@needs_node
def test_node_stream_destroy_sync_throw_and_sync_handlers(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.destroys")
    r = one(api, api.add_event({}))
    assert r["body"] == b"a"
    assert error_trailers(r)[0] == "Error" and error_trailers(r)[1]["errorMessage"] == "destroyed it"
    assert r["stdout"].decode().count("Invoke Error") == 1

    api2, rt2 = h.start("node", {"index.js": NODE_STREAMING}, "index.throwsSync")
    r2 = one(api2, api2.add_event({}))
    assert r2["body"] == b"" and error_trailers(r2)[1]["errorMessage"] == "sync bad"
    assert r2["headers"]["content-type"] == "application/octet-stream"

    # A handler not returning a promise is an error, as on AWS; here it had already ended the stream.
    api3, rt3 = h.start("node", {"index.js": NODE_STREAMING}, "index.notAsync")
    r3 = one(api3, api3.add_event({}))
    assert r3["body"] == b"done" and r3["trailers"] == {}
    time.sleep(0.1)
    assert "Streaming does not support non-async handlers." in rt3.out.text()


@needs_node
def test_node_stream_completes_when_it_ends_not_when_the_handler_resolves(h):
    # As AWS's runtime: resolving leaves the stream open; the invocation ends with end().
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.endsLater")
    rid = api.add_event({"delay": 500})
    r = one(api, rid)
    assert r["body"] == b"before;after" and r["trailers"] == {}
    assert r["time"] - r["chunks"][0][0] >= 0.4
    assert "Streaming handlers ignore return values." in r["stdout"].decode()
    assert one(api, api.add_event({"delay": 1}))["body"] == b"before;after"

    # Never ended: the invocation stays open (the daemon's timeout ends it) and /next waits.
    api2, rt2 = h.start("node", {"index.js": NODE_STREAMING}, "index.neverEnds")
    rid2 = api2.add_event({})
    rec = stream_record(api2, rid2)
    time.sleep(0.8)
    assert not rec["done"] and api2.next_requests == 1 and rt2.proc.poll() is None


@needs_node
def test_node_stream_large_write_arrives_whole(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.big")
    size = 8 * 1024 * 1024
    r = one(api, api.add_event({"size": size}))
    assert len(r["body"]) == size and r["trailers"] == {}
    assert r["body"] == bytes(i % 251 for i in range(size))


@needs_node
def test_node_stream_applies_backpressure_from_a_slow_reader(h):
    # 20 MiB piped while the API does not read for a second: the kernel's buffers hold a few MiB
    # at most, so the handler can only finish once the reader has started.
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.piped")
    api.stream_read_delay = 1.0
    pieces = 320
    rid = api.add_event({"pieces": pieces})
    r = one(api, rid, timeout=30)
    assert len(r["body"]) == pieces * 64 * 1024 and r["trailers"] == {}
    (line,) = [l for l in r["stdout"].decode().splitlines() if "wrote-all@" in l]
    assert int(line.split("@")[1]) / 1000 > r["read_start"] - 0.05


@needs_node
def test_node_stream_cut_off_by_the_api_does_not_wedge_the_runtime(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.writesPastACap")
    api.stream_limit = 256 * 1024
    rid = api.add_event({})
    rec = stream_record(api, rid)
    with api.cond:
        assert api.cond.wait_for(lambda: api.next_requests >= 2, WAIT), rt.out.text() + rt.err.text()
    assert not rec["done"] and "write failed: " in rt.out.text()
    assert "write failed: null" not in rt.out.text()
    api.stream_limit = None
    rid2 = api.add_event({})
    assert one(api, rid2)["kind"] == "response"  # served on a new connection
    assert api.connections >= 2


@needs_node
def test_node_stream_unhandled_rejection_reports_in_trailers_and_exits(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.rejectsLater")
    r = one(api, api.add_event({}))
    assert r["body"] == b"x"
    etype, doc = error_trailers(r)
    assert etype == "Runtime.UnhandledPromiseRejection" and doc["errorMessage"] == "Error: nobody catches me"
    assert rt.wait_exit() == 128


@needs_node
def test_node_awslambda_global(h):
    api, rt = h.start("node", {"index.js": NODE_STREAMING}, "index.buffered")
    r = one(api, api.add_event({}))
    assert r["json"] == {"seenAtLoad": "object", "now": "object", "from": "function"}
    assert "transfer-encoding" not in r["headers"]

    api2, rt2 = h.start("node", {"index.js": "exports.h = async () => typeof awslambda;\n"}, "index.h",
                        env={"AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA": "true"})
    assert one(api2, api2.add_event({}))["json"] == "undefined"

    api3, rt3 = h.start("node", {"index.js": "exports.h = async () => 1;\n"
                                 "exports.h[Symbol.for('aws.lambda.runtime.handler.streaming')] = 'request';\n"},
                        "index.h")
    assert rt3.wait_exit() != 0
    (r3,) = api3.wait_results(1)
    assert r3["kind"] == "init_error" and r3["json"]["errorType"] == "Runtime.MalformedStreamingHandler"


# ================================================================================================
# LoggingConfig LogFormat JSON (AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL)
# ================================================================================================

PY_JSON_LOG_APP = """
import logging

log = logging.getLogger("orders")

def handler(event, context):
    print("plain print stays text")
    logging.debug("debug %d", 1)
    logging.info("info %d", 2)
    log.warning("warn", extra={"orderId": 7})
    try:
        raise KeyError("missing")
    except KeyError:
        logging.exception("failed")
    return "ok"

def fails(event, context):
    raise ValueError("bad")
"""


def _text(data):
    return data.decode() if isinstance(data, bytes) else data


def _json_lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_python_json_log_format_and_level(h):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    api, rt = h.start("python", {"app.py": PY_JSON_LOG_APP}, "app.handler", env)
    rid = api.add_event({})
    r = one(api, rid)
    assert r["json"] == "ok"
    out = r["stdout"].decode()
    assert "plain print stays text\n" in out
    records = _json_lines(out)
    assert [x["level"] for x in records] == ["INFO", "WARNING", "ERROR"]  # DEBUG filtered
    info, warn, err = records
    assert set(info) == {"timestamp", "level", "message", "logger", "requestId"}
    assert info["message"] == "info 2" and info["logger"] == "root" and info["requestId"] == rid
    assert info["timestamp"].endswith("Z") and len(info["timestamp"]) == len("2024-01-01T00:00:00.000Z")
    assert warn["logger"] == "orders" and warn["orderId"] == 7
    assert err["errorType"] == "KeyError" and err["errorMessage"] == "'missing'"
    assert isinstance(err["stackTrace"], list) and err["location"].endswith(":handler:14")


def test_python_json_log_level_debug_and_error_record(h):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "TRACE"}
    api, rt = h.start("python", {"app.py": PY_JSON_LOG_APP}, "app.handler", env)
    r = one(api, api.add_event({}))
    assert [x["level"] for x in _json_lines(r["stdout"].decode())] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    api2, rt2 = h.start("python", {"app.py": PY_JSON_LOG_APP}, "app.fails", env)
    rid = api2.add_event({})
    assert one(api2, rid)["kind"] == "error"
    end = time.time() + WAIT
    while not _json_lines(_text(rt2.err.text())) and time.time() < end:
        time.sleep(0.02)
    (record,) = _json_lines(_text(rt2.err.text()))
    assert record["level"] == "ERROR" and record["errorType"] == "ValueError"
    assert record["errorMessage"] == "bad" and record["requestId"] == rid


def test_python_text_format_is_unchanged_without_log_format(h):
    api, rt = h.start("python", {"app.py": PY_JSON_LOG_APP}, "app.handler")
    r = one(api, api.add_event({}))
    assert _json_lines(r["stdout"].decode()) == []
    assert "[WARNING]" in r["stdout"].decode()


NODE_JSON_LOG_APP = """
exports.handler = async () => {
  console.trace('t'); console.debug('d'); console.log('l'); console.info('i %d', 5);
  console.warn({ a: 1 }); console.error('boom', new TypeError('bad type')); console.fatal('f');
  return 'ok';
};
exports.fails = async () => { throw new RangeError('out of range'); };
"""


@needs_node
def test_node_json_log_format_and_level(h):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    api, rt = h.start("node", {"index.js": NODE_JSON_LOG_APP}, "index.handler", env)
    rid = api.add_event({})
    r = one(api, rid)
    assert r["json"] == "ok"
    records = _json_lines(r["stdout"].decode())
    assert [x["level"] for x in records] == ["INFO", "INFO", "WARN", "ERROR", "FATAL"]
    log, info, warn, error, fatal = records
    assert list(log) == ["timestamp", "level", "requestId", "message"]
    assert log["message"] == "l" and log["requestId"] == rid and log["timestamp"].endswith("Z")
    assert info["message"] == "i 5"
    assert warn["message"] == {"a": 1}
    assert error["errorType"] == "TypeError" and error["errorMessage"] == "bad type"
    assert error["message"].startswith("boom TypeError: bad type")
    assert isinstance(error["stackTrace"], list)


@needs_node
def test_node_json_invoke_error_and_default_level(h):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}  # no level: everything, TRACE included
    api, rt = h.start("node", {"index.js": NODE_JSON_LOG_APP}, "index.handler", env)
    r = one(api, api.add_event({}))
    assert [x["level"] for x in _json_lines(r["stdout"].decode())][:2] == ["TRACE", "DEBUG"]
    api2, rt2 = h.start("node", {"index.js": NODE_JSON_LOG_APP}, "index.fails", env)
    rid = api2.add_event({})
    r2 = one(api2, rid)
    assert r2["kind"] == "error"
    (record,) = _json_lines(r2["stdout"].decode())
    assert record["level"] == "ERROR" and record["requestId"] == rid
    assert record["message"]["errorType"] == "RangeError"
    assert record["message"]["errorMessage"] == "out of range"
