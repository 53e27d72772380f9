"""What no request and no function may do to the daemon: kill it with bytes that are not
UTF-8, exhaust its memory with deep documents, lose a warm invocation on an abandoned long
poll. And a failed start is recorded as the request's, as Lambda records it."""

import base64
import json
import os
import time

from conftest import header, wait_until

# A runtime in a few lines of Python over raw sockets, so a test can send any bytes.
RAW_RUNTIME = r'''#!/usr/bin/python3
import os, socket
HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
PREFIX = b"/2018-06-01/runtime"

def call(method, path, body=b"", headers=(), timeout=None):
    s = socket.create_connection((HOST, int(PORT)), timeout=timeout)
    head = [method + b" " + PREFIX + path + b" HTTP/1.1", b"Host: r"]
    head += [k + b": " + v for k, v in headers] + [b"Content-Length: " + str(len(body)).encode()]
    s.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(rest) < length:
            rest += s.recv(65536)
    except socket.timeout:
        s.close()
        return None, None
    s.close()
    rid = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"lambda-runtime-aws-request-id:"):
            rid = line.split(b":", 1)[1].strip()
    return rid, rest

def abandon_next():
    """A long poll given up on: sent, then closed before any event came."""
    s = socket.create_connection((HOST, int(PORT)))
    s.sendall(b"GET " + PREFIX + b"/invocation/next HTTP/1.1\r\nHost: r\r\n\r\n")
    s.close()
'''

NON_UTF8_ERRORS = RAW_RUNTIME + r'''
while True:
    rid, event = call(b"GET", b"/invocation/next")
    call(b"POST", b"/invocation/" + rid + b"/error", b"\xff\xfe not utf-8 \xc0\xaf",
         [(b"Lambda-Runtime-Function-Error-Type", b"Bad\xff\xfeType")])
'''

NON_UTF8_INIT_ERROR = RAW_RUNTIME + r'''
call(b"POST", b"/init/error", b"\xff init \xfe",
     [(b"Lambda-Runtime-Function-Error-Type", b"Init\xffType")])
raise SystemExit(1)
'''

# Answers, then leaves an abandoned /next behind and parks a live one.
ABANDONS_ONE_NEXT = RAW_RUNTIME + r'''
rid, event = call(b"GET", b"/invocation/next")
while True:
    call(b"POST", b"/invocation/" + rid + b"/response", b'"answered"')
    abandon_next()
    rid, event = call(b"GET", b"/invocation/next")
'''

# Answers, then abandons its only /next and asks again only after a long pause.
ABANDONS_EVERY_NEXT = RAW_RUNTIME + r'''
import time
ENVIRONMENT = os.urandom(8).hex().encode()  # pids repeat across pid namespaces
rid, event = call(b"GET", b"/invocation/next")
while True:
    call(b"POST", b"/invocation/" + rid + b"/response", b'"' + ENVIRONMENT + b'"')
    abandon_next()
    time.sleep(30)
    rid, event = call(b"GET", b"/invocation/next")
'''


def bootstrap(source):
    return {"bootstrap": (source, 0o755)}


def test_names_that_are_not_utf8_get_400_on_every_path(daemon):
    for method, path in [("GET", "/2015-03-31/functions/%ff"),
                         ("DELETE", "/2015-03-31/functions/%ff"),
                         ("POST", "/2015-03-31/functions/%ff/invocations"),
                         ("GET", "/2015-03-31/functions/%ff/configuration"),
                         ("PUT", "/2015-03-31/functions/%ff/configuration"),
                         ("PUT", "/2015-03-31/functions/%ff/code"),
                         ("GET", "/lambent/v1/functions/%ff/logs"),
                         ("GET", "/lambent/v1/functions/%ff/environments"),
                         ("GET", "/2015-03-31/functions/a%c0%afb"),
                         ("GET", "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:%ff")]:
        status, headers, body = daemon.request(method, path, b"{}" if method in ("POST", "PUT") else None)
        assert status == 400, (method, path, status, body)
        assert header(headers, "x-amzn-ErrorType") == "InvalidParameterValueException"
        assert "message" in json.loads(body)
    assert daemon.proc.poll() is None
    assert daemon.request("GET", "/lambent/v1/health")[0] == 200


def test_a_function_error_that_is_not_utf8_reaches_the_caller_as_json(daemon):
    daemon.create("bytes", bootstrap(NON_UTF8_ERRORS), runtime="provided.al2023", handler="x")
    for _ in range(2):
        status, headers, body = daemon.invoke("bytes")
        assert status == 200, body
        assert header(headers, "X-Amz-Function-Error") == "Unhandled"
        doc = json.loads(body)
        assert doc["errorType"].startswith("Bad")
        assert "not utf-8" in doc["errorMessage"]
    assert daemon.proc.poll() is None


def test_an_init_error_that_is_not_utf8_reaches_the_caller_as_json(daemon):
    daemon.create("init-bytes", bootstrap(NON_UTF8_INIT_ERROR), runtime="provided.al2023", handler="x")
    status, headers, body = daemon.invoke("init-bytes")
    assert status == 200, body
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"].startswith("Init")
    assert "init" in doc["errorMessage"]
    assert daemon.proc.poll() is None


def vm_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def test_deeply_nested_documents_are_refused_before_parsing(daemon):
    deep = b"[" * (18 * 1024 * 1024)
    status, headers, body = daemon.request("POST", "/2015-03-31/functions", deep,
                                           {"Content-Type": "application/json"})
    assert status == 400, body
    assert header(headers, "x-amzn-ErrorType") == "InvalidRequestContentException"
    assert "nesting" in json.loads(body)["message"]
    status, _, body = daemon.request("PUT", "/2015-03-31/functions/x/code",
                                     b'{"ZipFile":' * 100000 + b'"x"' + b"}" * 100000)
    assert status == 400, body
    assert vm_rss_mb(daemon.proc.pid) < 200


def test_small_operations_refuse_large_bodies_before_reading_them(daemon):
    daemon.create("sized", {"app.py": "def handler(e, c):\n    return 1\n"})
    big = json.dumps({"Description": "x" * (2 * 1024 * 1024)}).encode()
    status, headers, body = daemon.request("PUT", "/2015-03-31/functions/sized/configuration", big)
    assert status == 413, body
    assert json.loads(body)["message"]


def test_an_event_is_not_written_to_a_next_the_runtime_abandoned(daemon):
    daemon.create("abandons", bootstrap(ABANDONS_ONE_NEXT), runtime="provided.al2023", handler="x",
                  Timeout=20)
    assert daemon.invoke("abandons")[2] == b'"answered"'
    for _ in range(3):
        time.sleep(0.3)  # the abandoned /next and the live one are both parked by now
        started = time.time()
        status, _, body = daemon.invoke("abandons")
        assert (status, body) == (200, b'"answered"')
        assert time.time() - started < 5, "the event went to the abandoned connection"


def test_an_event_goes_elsewhere_when_the_runtime_abandoned_every_next(daemon):
    daemon.create("gone", bootstrap(ABANDONS_EVERY_NEXT), runtime="provided.al2023", handler="x",
                  Timeout=20)
    first = daemon.invoke("gone")[2]
    time.sleep(0.3)
    started = time.time()
    status, _, second = daemon.invoke("gone")
    assert status == 200
    assert time.time() - started < 10, "the event waited for the runtime that gave up"
    assert second != first, "a new environment should have answered"


def test_a_failed_start_is_recorded_as_the_request_that_waited_for_it(daemon):
    daemon.create("broken", {"app.py": "import no_such_module\n"})
    status, headers, body = daemon.invoke("broken", headers={"X-Amz-Log-Type": "Tail"})
    assert status == 200
    request_id = header(headers, "x-amzn-RequestId")
    doc = json.loads(body)
    assert doc["errorType"] == "Runtime.ImportModuleError"
    if "requestId" in doc:
        assert doc["requestId"] == request_id
    tail = base64.b64decode(header(headers, "X-Amz-Log-Result")).decode()
    assert f"START RequestId: {request_id}" in tail
    assert f"END RequestId: {request_id}" in tail
    assert f"REPORT RequestId: {request_id}" in tail
    assert "Status: error\tError Type: Runtime.ImportModuleError" in tail
    assert "no_such_module" in tail

    def logged():
        status, _, text = daemon.request("GET", "/lambent/v1/functions/broken/logs")
        return status == 200 and f"REPORT RequestId: {request_id}" in text.decode()
    assert wait_until(logged, timeout=5)
