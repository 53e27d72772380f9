"""Bad input to the Lambda API gets Lambda's error shape (x-amzn-ErrorType header, JSON body
with "message" and "Type"), and the daemon keeps serving afterwards."""

import base64
import io
import json
import os
import socket
import stat
import threading
import time
import urllib.request
import zipfile

import pytest

from conftest import header, make_zip

FUNCTIONS = "/2015-03-31/functions"
ROLE = "arn:aws:iam::000000000000:role/test"

ECHO = '''\
import time

def handler(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    if isinstance(event, str):
        return {"length": len(event)}
    return {"echo": event}
'''



def assert_lambda_error(response, status, error_type):
    got_status, headers, body = response
    assert got_status == status, (got_status, body[:500])
    assert header(headers, "x-amzn-ErrorType") == error_type, (headers, body[:500])
    document = json.loads(body)
    assert isinstance(document.get("message"), str) and document["message"], document
    assert document.get("Type") in ("User", "Service"), document
    return document


def assert_daemon_serves(daemon):
    assert daemon.proc.poll() is None, f"lambent serve died: {daemon.log()[-3000:]}"
    with urllib.request.urlopen(daemon.endpoint + "/lambent/v1/health", timeout=5) as resp:
        assert resp.status == 200
    status, _, _ = daemon.request("GET", FUNCTIONS, timeout=10)
    assert status == 200


def create_body(name="api-fn", files=None, runtime="python3.11", **extra):
    body = {"FunctionName": name, "Runtime": runtime, "Handler": "app.handler", "Role": ROLE,
            "Code": {"ZipFile": base64.b64encode(make_zip(files or {"app.py": ECHO})).decode()}}
    body.update(extra)
    return body


def zip_with(*entries):
    """A zip of (ZipInfo-or-name, content) pairs exactly as given (no sanitising)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", ECHO)
        for info, content in entries:
            z.writestr(info, content)
    return buf.getvalue()


def symlink_entry(name, target):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits are honoured
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def raw_entry(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info, "print('escaped')\n"


def function_names(daemon):
    status, _, body = daemon.request("GET", FUNCTIONS)
    assert status == 200
    return [f["FunctionName"] for f in json.loads(body)["Functions"]]


# --- CreateFunction input --------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b"\"a string\"", b"{\"FunctionName\": "])
def test_malformed_json_to_create_function_is_an_invalid_request_content_exception(daemon, body):
    response = daemon.request("POST", FUNCTIONS, body, {"Content-Type": "application/json"})
    assert_lambda_error(response, 400, "InvalidRequestContentException")
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("field,value", [
    ("Timeout", "abc"),
    ("Timeout", 0),
    ("Timeout", 901),
    ("MemorySize", 1),
    ("MemorySize", "lots"),
    ("Environment", "FOO=bar"),
    ("Environment", ["FOO", "bar"]),
    ("Environment", {"Variables": {"FOO": 1}}),
    ("Handler", 42),
])
def test_wrong_field_types_and_values_are_invalid_parameter_value_exceptions(daemon, field, value):
    response = daemon.request("POST", FUNCTIONS, create_body(**{field: value}))
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("missing", ["FunctionName", "Code", "Runtime"])
def test_a_create_without_a_required_field_is_rejected(daemon, missing):
    body = create_body()
    del body[missing]
    response = daemon.request("POST", FUNCTIONS, body)
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("name", ["bad name", "a" * 65, "", "semi;colon", "slash/name"])
def test_invalid_function_names_are_rejected(daemon, name):
    response = daemon.request("POST", FUNCTIONS, create_body(name=name))
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


def test_a_64_character_name_is_the_longest_accepted(daemon):
    name = "n" * 64
    status, _, body = daemon.request("POST", FUNCTIONS, create_body(name=name))
    assert status == 201, body
    assert function_names(daemon) == [name]


def test_creating_a_function_twice_is_a_resource_conflict(daemon):
    status, _, _ = daemon.request("POST", FUNCTIONS, create_body(name="api-twice"))
    assert status == 201
    second = daemon.request("POST", FUNCTIONS, create_body(name="api-twice", Timeout=30))
    assert_lambda_error(second, 409, "ResourceConflictException")
    # The first definition is untouched.
    status, _, body = daemon.request("GET", f"{FUNCTIONS}/api-twice")
    assert status == 200 and json.loads(body)["Configuration"]["Timeout"] == 3
    assert_daemon_serves(daemon)


def test_an_unknown_runtime_is_rejected(daemon):
    response = daemon.request("POST", FUNCTIONS, create_body(runtime="cobol9"))
    document = assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert "cobol9" in document["message"]
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("key", ["AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER"])
def test_a_reserved_environment_variable_is_rejected(daemon, key):
    body = create_body(Environment={"Variables": {"MINE": "ok", key: "nope"}})
    document = assert_lambda_error(daemon.request("POST", FUNCTIONS, body), 400,
                                   "InvalidParameterValueException")
    assert key in document["message"]
    assert function_names(daemon) == []
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("field,value", [
    ("Timeout", "abc"),
    ("MemorySize", 1),
    ("Environment", "FOO=bar"),
    ("Environment", {"Variables": {"AWS_REGION": "eu-west-1"}}),
    ("Runtime", "cobol9"),
])
def test_a_bad_configuration_update_is_rejected_and_changes_nothing(daemon, field, value):
    daemon.create("api-reconfig", {"app.py": ECHO}, Timeout=5, MemorySize=256)
    response = daemon.request("PUT", f"{FUNCTIONS}/api-reconfig/configuration", {field: value})
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    status, _, body = daemon.request("GET", f"{FUNCTIONS}/api-reconfig/configuration")
    config = json.loads(body)
    assert (config["Timeout"], config["MemorySize"], config["Runtime"]) == (5, 256, "python3.11")
    assert "Environment" not in config or config["Environment"]["Variables"] == {}
    assert_daemon_serves(daemon)


def test_racing_creates_of_one_name_make_exactly_one_function(daemon):
    results = []

    def create():
        results.append(daemon.request("POST", FUNCTIONS, create_body(name="api-race")))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] + [409] * 7, statuses
    for response in results:
        if response[0] == 409:
            assert_lambda_error(response, 409, "ResourceConflictException")
    assert function_names(daemon) == ["api-race"]
    status, _, body = daemon.invoke("api-race", b'"ok"')
    assert status == 200 and json.loads(body) == {"length": 2}


# --- code packages ---------------------------------------------------------------------------

BROKEN_PACKAGES = {
    "not_a_zip": base64.b64encode(b"this is not a zip file at all").decode(),
    "truncated_zip": base64.b64encode(make_zip({"app.py": ECHO * 20})[:60]).decode(),
    "empty": "",
    "not_base64": "!!!% definitely not base64 %!!!",
    "zip_slip": base64.b64encode(zip_with(raw_entry("../evil.py"))).decode(),
    "deep_zip_slip": base64.b64encode(zip_with(raw_entry("lib/../../../evil.py"))).decode(),
    "absolute_path": base64.b64encode(zip_with(raw_entry("/tmp/lambent-evil.py"))).decode(),
    "symlink_to_etc_passwd": base64.b64encode(
        zip_with(symlink_entry("passwd", "/etc/passwd"))).decode(),
    "symlink_climbing_out": base64.b64encode(
        zip_with(symlink_entry("up", "../../../../etc/passwd"))).decode(),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_PACKAGES))
def test_a_broken_or_escaping_code_package_is_an_invalid_parameter_value(daemon, kind, tmp_path):
    body = create_body(name="api-broken")
    body["Code"] = {"ZipFile": BROKEN_PACKAGES[kind]}
    response = daemon.request("POST", FUNCTIONS, body)
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert function_names(daemon) == []
    # Nothing was written outside the data directory.
    assert not (daemon.data_dir.parent / "evil.py").exists()
    assert not (tmp_path.parent / "evil.py").exists()
    assert not os.path.exists("/tmp/lambent-evil.py")
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("kind", ["not_a_zip", "not_base64", "zip_slip", "symlink_to_etc_passwd"])
def test_a_broken_code_update_is_rejected_and_the_old_code_keeps_running(daemon, kind):
    daemon.create("api-keeps-code", {"app.py": ECHO})
    response = daemon.request("PUT", f"{FUNCTIONS}/api-keeps-code/code",
                              {"ZipFile": BROKEN_PACKAGES[kind]})
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    status, _, body = daemon.invoke("api-keeps-code", b'{"still": "here"}')
    assert status == 200 and json.loads(body) == {"echo": {"still": "here"}}
    assert_daemon_serves(daemon)


# --- unknown functions -----------------------------------------------------------------------

@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None),
    ("GET", "/configuration", None),
    ("POST", "/invocations", b"{}"),
    ("DELETE", "", None),
    ("PUT", "/code", {"ZipFile": base64.b64encode(make_zip({"app.py": ECHO})).decode()}),
    ("PUT", "/configuration", {"Timeout": 5}),
])
def test_an_unknown_function_is_resource_not_found(daemon, method, suffix, body):
    response = daemon.request(method, f"{FUNCTIONS}/api-nobody{suffix}", body)
    document = assert_lambda_error(response, 404, "ResourceNotFoundException")
    assert "api-nobody" in document["message"]
    assert_daemon_serves(daemon)


def test_a_deleted_function_is_resource_not_found(daemon):
    daemon.create("api-gone", {"app.py": ECHO})
    status, _, _ = daemon.request("DELETE", f"{FUNCTIONS}/api-gone")
    assert status == 204
    assert_lambda_error(daemon.request("DELETE", f"{FUNCTIONS}/api-gone"), 404,
                        "ResourceNotFoundException")
    assert_lambda_error(daemon.invoke("api-gone"), 404, "ResourceNotFoundException")
    assert_daemon_serves(daemon)


# --- Invoke input ----------------------------------------------------------------------------

def invoke_expecting_an_answer(daemon, name, payload, headers=None):
    """Invokes with a client that writes the whole body before it reads (urllib): the daemon
    must not close the connection under it, or the client never sees the 413."""
    try:
        return daemon.invoke(name, payload, headers, timeout=30)
    except OSError as e:
        pytest.fail(f"the connection failed instead of carrying a 413 answer: {e!r}")


def test_an_invoke_payload_over_6_mb_is_request_too_large(daemon):
    daemon.create("api-big", {"app.py": ECHO})
    payload = b'"' + b"a" * (6291457 - 2) + b'"'
    assert len(payload) == 6291457
    response = invoke_expecting_an_answer(daemon, "api-big", payload)
    assert_lambda_error(response, 413, "RequestTooLargeException")
    assert_daemon_serves(daemon)
    status, _, body = daemon.invoke("api-big", b'{"after": "too large"}')
    assert status == 200 and json.loads(body) == {"echo": {"after": "too large"}}


def test_an_invoke_payload_of_exactly_6_mb_is_accepted(daemon):
    daemon.create("api-6mb", {"app.py": ECHO}, MemorySize=512)
    payload = b'"' + b"a" * (6291456 - 2) + b'"'
    status, headers, body = daemon.invoke("api-6mb", payload, timeout=30)
    assert status == 200, body[:500]
    assert header(headers, "X-Amz-Function-Error") is None
    assert json.loads(body) == {"length": 6291454}


def test_an_event_invoke_payload_over_1_mb_is_request_too_large(daemon):
    daemon.create("api-bigevent", {"app.py": ECHO})
    payload = b'"' + b"a" * (1048577 - 2) + b'"'
    response = invoke_expecting_an_answer(daemon, "api-bigevent", payload,
                                          {"X-Amz-Invocation-Type": "Event"})
    assert_lambda_error(response, 413, "RequestTooLargeException")
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("payload", [b"{not json", b"hello", b"{\"a\": 1", b"\xff\xfe"])
def test_an_invoke_payload_that_is_not_json_is_rejected(daemon, payload):
    daemon.create("api-json", {"app.py": ECHO})
    response = daemon.invoke("api-json", payload)
    assert_lambda_error(response, 400, "InvalidRequestContentException")
    assert_daemon_serves(daemon)


@pytest.mark.parametrize("invocation_type", ["Synchronous", "event", "RequestResponse2"])
def test_an_invalid_invocation_type_is_rejected(daemon, invocation_type):
    daemon.create("api-type", {"app.py": ECHO})
    response = daemon.invoke("api-type", b"{}", {"X-Amz-Invocation-Type": invocation_type})
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert_daemon_serves(daemon)


def test_an_invalid_log_type_is_rejected(daemon):
    daemon.create("api-logtype", {"app.py": ECHO})
    response = daemon.invoke("api-logtype", b"{}", {"X-Amz-Log-Type": "Everything"})
    assert_lambda_error(response, 400, "InvalidParameterValueException")
    assert_daemon_serves(daemon)


def test_a_client_context_that_is_not_base64_json_is_rejected(daemon):
    daemon.create("api-context", {"app.py": ECHO})
    response = daemon.invoke("api-context", b"{}", {"X-Amz-Client-Context": "%%%not-base64"})
    assert_lambda_error(response, 400, "InvalidRequestContentException")
    assert_daemon_serves(daemon)


# --- misbehaving clients ---------------------------------------------------------------------

def raw_connection(daemon):
    return socket.create_connection(("127.0.0.1", daemon.port), timeout=10)


def test_a_client_that_sends_half_a_body_then_disconnects_does_not_harm_the_daemon(daemon):
    daemon.create("api-half", {"app.py": ECHO})
    for target in (FUNCTIONS, f"{FUNCTIONS}/api-half/invocations"):
        for _ in range(3):
            with raw_connection(daemon) as s:
                s.sendall(f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                          .encode() + b'{"Function')
    # Headers only, then gone; and a request line that never ends.
    with raw_connection(daemon) as s:
        s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nContent-Length: 50\r\n")
    with raw_connection(daemon) as s:
        s.sendall(b"GET /2015-03-31/funct")
    assert_daemon_serves(daemon)
    status, _, body = daemon.invoke("api-half", b'{"whole": true}')
    assert status == 200 and json.loads(body) == {"echo": {"whole": True}}
    assert function_names(daemon) == ["api-half"]


def test_a_client_that_disconnects_while_its_invocation_runs_does_not_harm_the_daemon(daemon):
    daemon.create("api-hangup", {"app.py": ECHO})
    payload = b'{"sleep": 1}'
    with raw_connection(daemon) as s:
        s.sendall(b"POST /2015-03-31/functions/api-hangup/invocations HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nContent-Length: " + str(len(payload)).encode() +
                  b"\r\n\r\n" + payload)
    assert_daemon_serves(daemon)
    # The abandoned invocation finishes; its environment then serves the next caller.
    time.sleep(1.2)
    started = time.time()
    status, _, body = daemon.invoke("api-hangup", b'{"after": "hangup"}', timeout=20)
    assert status == 200 and json.loads(body) == {"echo": {"after": "hangup"}}
    assert time.time() - started < 10
    assert function_names(daemon) == ["api-hangup"]
    assert_daemon_serves(daemon)


def test_many_abandoned_connections_in_a_row_leave_the_daemon_serving(daemon):
    daemon.create("api-many", {"app.py": ECHO})
    sockets = []
    try:
        for _ in range(50):
            s = raw_connection(daemon)
            s.sendall(b"POST /2015-03-31/functions/api-many/invocations HTTP/1.1\r\n"
                      b"Content-Length: 100\r\n\r\n{")
            sockets.append(s)
        assert_daemon_serves(daemon)
    finally:
        for s in sockets:
            s.close()
    status, _, body = daemon.invoke("api-many", b"[1, 2]")
    assert status == 200 and json.loads(body) == {"echo": [1, 2]}
    assert_daemon_serves(daemon)


def test_oversized_headers_and_garbage_requests_leave_the_daemon_serving(daemon):
    daemon.create("api-garbage", {"app.py": ECHO})
    requests = [
        b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello
        b"NONSENSE\r\n\r\n",
        b"POST /2015-03-31/functions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /2015-03-31/functions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    for raw in requests:
        with raw_connection(daemon) as s:
            try:
                s.sendall(raw)
                s.settimeout(5)
                s.recv(65536)  # an error response or a close, either is fine
            except OSError:
                pass
        assert_daemon_serves(daemon)
    status, _, body = daemon.invoke("api-garbage", b"{}")
    assert status == 200 and json.loads(body) == {"echo": {}}


def test_an_invalid_function_name_in_the_path_is_a_client_error(daemon):
    for path in (f"{FUNCTIONS}/bad%20name", f"{FUNCTIONS}/{'x' * 65}/invocations",
                 f"{FUNCTIONS}/a:b:c", f"{FUNCTIONS}/..%2F..%2Fetc", f"{FUNCTIONS}/..%2Fx/invocations"):
        method = "POST" if path.endswith("invocations") else "GET"
        status, headers, body = daemon.request(method, path, b"{}" if method == "POST" else None)
        assert 400 <= status < 500, (path, status, body)
        assert header(headers, "x-amzn-ErrorType"), (path, headers)
    assert_daemon_serves(daemon)


def test_the_logs_endpoint_refuses_names_that_leave_the_log_directory(daemon):
    # data/logs/<name>.log is where a function's log lives; "../../secret" would be next to
    # the data directory.
    secret = daemon.data_dir.parent / "secret.log"
    secret.write_text("NOT FOR HTTP CLIENTS\n")
    for name in ("..%2F..%2Fsecret", "..%2f..%2fsecret", "%2E%2E%2F%2E%2E%2Fsecret"):
        status, headers, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs")
        assert b"NOT FOR HTTP CLIENTS" not in body, (name, status, body)
        assert status in (400, 404), (name, status, body)
        assert header(headers, "x-amzn-ErrorType") in ("InvalidParameterValueException",
                                                       "ResourceNotFoundException"), headers
    assert_daemon_serves(daemon)


def test_unknown_paths_and_methods_get_an_error_document(daemon):
    for method, path in (("GET", "/nothing/here"), ("PATCH", FUNCTIONS),
                         ("POST", "/2015-03-31/functions/x/unknown")):
        status, headers, body = daemon.request(method, path)
        assert 400 <= status < 500, (method, path, status)
        assert header(headers, "x-amzn-ErrorType"), (method, path, headers)
        assert "message" in json.loads(body)
    assert_daemon_serves(daemon)
