"""Bad input to the SQS-compatible API: malformed requests in both wire protocols, SQS's
limits, unknown queues, invalid handles, clients that vanish mid long poll, shutdown under
parked polls. Each gets SQS's error shape (query: <ErrorResponse> XML with a Code; JSON:
__type plus the x-amzn-query-error header), and the daemon keeps serving after each."""

import json
import os
import signal
import socket
import struct
import threading
import time
import urllib.parse

import pytest

from sqs_support import (json_call, json_error, query, query_error, raw,  # noqa: F401
                         sqs_client, sqs_daemon, still_serving, unique, xml)

from botocore.exceptions import ClientError  # noqa: E402

from conftest import wait_until  # noqa: E402

V = {"Version": "2012-11-05"}


@pytest.fixture(scope="module")
def sqs(sqs_daemon):
    return sqs_client(sqs_daemon.endpoint)


@pytest.fixture
def url(sqs):
    return sqs.create_queue(QueueName=unique())["QueueUrl"]


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


def query_code(daemon, params, path="/"):
    status, _, body = query(daemon, params, path)
    kind, code, message = query_error(status, body)
    assert kind == "Sender", body
    # SQS documents MalformedQueryString alone as a 404.
    assert status == (404 if code == "MalformedQueryString" else 400), (status, body)
    return code, message


def json_code(daemon, operation, body):
    status, headers, data = json_call(daemon, operation, body)
    assert status == 400, (status, data)
    assert headers.get("content-type", "").startswith("application/x-amz-json-1.0"), headers
    return json_error(status, headers, data)


# --- malformed requests -------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "Action=ListQueues&Version=2012-11-05&QueueNamePrefix=%ZZ",
    "Action=ListQueues&Version=2012-11-05&%",
    "Action=SendMessage&QueueUrl=&&&===&MessageBody=%E2%28%A1",
    "Action=CreateQueue&QueueName=a&Attribute.1.Name=VisibilityTimeout&Attribute.99999999999999999999.Value=1",
    "Action=SendMessage&MessageAttribute.1.Name=x&MessageAttribute.1.Value.DataType=String",
    "Action=" + "A" * 10000,
])
def test_malformed_form_bodies(sqs_daemon, body):
    status, _, data = query(sqs_daemon, body)
    assert status in (400, 404), (status, data)
    query_error(status, data)
    still_serving(sqs_daemon)


@pytest.mark.parametrize("body", [
    b"{", b"", b"null", b"[]", b"\"text\"", b"{\"QueueName\": 5}", b"{\"QueueName\": [\"a\"]}",
    b"\xff\xfe{}", b"{\"QueueName\": \"a\", \"Attributes\": \"not a map\"}",
    b"{\"QueueName\": \"a\", \"Attributes\": {\"VisibilityTimeout\": 5}}",
    b"{" * 100000,
])
def test_malformed_json_bodies(sqs_daemon, body):
    status, headers, data = json_call(sqs_daemon, "CreateQueue", body)
    assert status == 400, (status, data)
    json_error(status, headers, data)
    still_serving(sqs_daemon)


def test_unknown_action_and_target(sqs_daemon):
    code, _ = query_code(sqs_daemon, {"Action": "FrobnicateQueue", **V})
    assert code == "InvalidAction"
    status, headers, data = json_call(sqs_daemon, "FrobnicateQueue", {})
    assert status == 400, (status, data)
    kind, _, _ = json_error(status, headers, data)
    assert kind in ("UnknownOperationException", "InvalidAction"), kind
    # A target of another service on the SQS shape.
    status, headers, data = raw(sqs_daemon, "POST", "/", "{}", {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS."})
    assert status == 400, (status, data)
    still_serving(sqs_daemon)


def test_missing_parameters(sqs_daemon, url):
    code, _ = query_code(sqs_daemon, {"Action": "SendMessage", "MessageBody": "x", **V})
    assert code == "MissingParameter"
    code, _ = query_code(sqs_daemon, {"Action": "SendMessage", "QueueUrl": url, **V})
    assert code == "MissingParameter"
    code, _ = query_code(sqs_daemon, {"Action": "CreateQueue", **V})
    assert code == "MissingParameter"
    kind, _, query_header = json_code(sqs_daemon, "SendMessage", {"MessageBody": "x"})
    assert query_header and query_header.startswith("MissingParameter;"), query_header
    kind, _, _ = json_code(sqs_daemon, "ReceiveMessage", {})
    kind, _, _ = json_code(sqs_daemon, "DeleteMessage", {"QueueUrl": url})
    still_serving(sqs_daemon)


def test_unknown_queue_in_both_protocols(sqs_daemon, url):
    missing = url.rsplit("/", 1)[0] + "/" + unique("missing")
    code, message = query_code(sqs_daemon, {"Action": "GetQueueUrl", "QueueName": unique("nope"), **V})
    assert code == "AWS.SimpleQueueService.NonExistentQueue"
    assert message
    code, _ = query_code(sqs_daemon, {"Action": "SendMessage", "QueueUrl": missing,
                                      "MessageBody": "x", **V})
    assert code == "AWS.SimpleQueueService.NonExistentQueue"
    for op, body in [("GetQueueUrl", {"QueueName": unique("nope")}),
                     ("SendMessage", {"QueueUrl": missing, "MessageBody": "x"}),
                     ("ReceiveMessage", {"QueueUrl": missing}),
                     ("DeleteQueue", {"QueueUrl": missing})]:
        kind, message, query_header = json_code(sqs_daemon, op, body)
        assert kind == "QueueDoesNotExist", (op, kind)
        assert query_header == "AWS.SimpleQueueService.NonExistentQueue;Sender", query_header
    # A URL that names no queue at all.
    code, _ = query_code(sqs_daemon, {"Action": "SendMessage", "QueueUrl": "not a url",
                                      "MessageBody": "x", **V})
    assert code in ("AWS.SimpleQueueService.NonExistentQueue", "InvalidAddress",
                    "InvalidParameterValue"), code
    still_serving(sqs_daemon)


def test_invalid_queue_names(sqs, sqs_daemon):
    for name in ("bad name", "x" * 81, "", "a/b", "lambent.async.fn", "é"):
        code, _ = code_of(lambda: sqs.create_queue(QueueName=name))
        assert code in ("InvalidParameterValue", "MissingParameter"), (name, code)
    # The daemon's own queues are not reachable by name either.
    code, _ = code_of(lambda: sqs.get_queue_url(QueueName="lambent.async.fn"))
    assert code in ("AWS.SimpleQueueService.NonExistentQueue", "InvalidParameterValue"), code
    still_serving(sqs_daemon)


def test_invalid_queue_attributes(sqs, sqs_daemon):
    for attrs in ({"VisibilityTimeout": "43201"}, {"VisibilityTimeout": "-1"},
                  {"VisibilityTimeout": "soon"}, {"DelaySeconds": "901"},
                  {"MessageRetentionPeriod": "59"}, {"MaximumMessageSize": "262145"},
                  {"ReceiveMessageWaitTimeSeconds": "21"},
                  {"RedrivePolicy": "not json"},
                  {"RedrivePolicy": json.dumps({"maxReceiveCount": "2"})}):
        code, _ = code_of(lambda: sqs.create_queue(QueueName=unique(), Attributes=attrs))
        assert code in ("InvalidAttributeValue", "InvalidParameterValue"), (attrs, code)
    code, _ = code_of(lambda: sqs.create_queue(QueueName=unique(), Attributes={"Colour": "blue"}))
    assert code == "InvalidAttributeName", code
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    code, _ = code_of(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Colour"]))
    assert code == "InvalidAttributeName", code
    still_serving(sqs_daemon)


# --- limits -------------------------------------------------------------------------------

def test_oversized_message(sqs, sqs_daemon, url):
    code, message = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="a" * 262145))
    assert code == "InvalidParameterValue", code
    assert "262144" in message or "256" in message, message
    # Body and attributes count together.
    code, _ = code_of(lambda: sqs.send_message(
        QueueUrl=url, MessageBody="a" * 262000,
        MessageAttributes={"big": {"DataType": "String", "StringValue": "b" * 1000}}))
    assert code == "InvalidParameterValue", code
    kind, _, _ = json_code(sqs_daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "a" * 262145})
    assert kind == "InvalidParameterValue", kind
    # Far beyond the limit (a 3 MB body) the HTTP layer may refuse it first.
    status, _, _ = json_call(sqs_daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "a" * 3_000_000})
    assert status in (400, 413), status
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    still_serving(sqs_daemon)


def test_a_huge_request_body_is_refused(sqs_daemon):
    """Far past any SQS request: refused without being buffered whole."""
    try:
        status, _, _ = query(sqs_daemon, "Action=SendMessage&MessageBody=" + "a" * (20 << 20))
        assert status in (400, 413), status
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while the body was still coming: refused too
    still_serving(sqs_daemon)


def test_batches(sqs, sqs_daemon, url):
    eleven = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]
    code, _ = code_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=eleven))
    assert code == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    code, _ = code_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[]))
    assert code == "AWS.SimpleQueueService.EmptyBatchRequest"
    code, _ = code_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "same", "MessageBody": "1"}, {"Id": "same", "MessageBody": "2"}]))
    assert code == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    code, _ = code_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "not valid!", "MessageBody": "1"}]))
    assert code == "AWS.SimpleQueueService.InvalidBatchEntryId"
    code, _ = code_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": "a" * 30000} for i in range(10)]))
    assert code == "AWS.SimpleQueueService.BatchRequestTooLong"
    code, _ = code_of(lambda: sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": "h"} for i in range(11)]))
    assert code == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    code, _ = code_of(lambda: sqs.delete_message_batch(QueueUrl=url, Entries=[]))
    assert code == "AWS.SimpleQueueService.EmptyBatchRequest"
    code, _ = code_of(lambda: sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": "h", "VisibilityTimeout": 1},
        {"Id": "a", "ReceiptHandle": "h", "VisibilityTimeout": 1}]))
    assert code == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    # The same refusals over JSON.
    kind, _, header = json_code(sqs_daemon, "SendMessageBatch", {"QueueUrl": url, "Entries": []})
    assert kind == "EmptyBatchRequest", kind
    assert header == "AWS.SimpleQueueService.EmptyBatchRequest;Sender", header
    kind, _, _ = json_code(sqs_daemon, "SendMessageBatch", {"QueueUrl": url, "Entries": eleven})
    assert kind == "TooManyEntriesInBatchRequest", kind
    # None of it sent anything.
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    still_serving(sqs_daemon)


def test_receive_limits(sqs, sqs_daemon, url):
    for kwargs in ({"WaitTimeSeconds": 21}, {"WaitTimeSeconds": -1}, {"MaxNumberOfMessages": 11},
                   {"MaxNumberOfMessages": 0}, {"VisibilityTimeout": 43201}):
        start = time.monotonic()
        code, _ = code_of(lambda: sqs.receive_message(QueueUrl=url, **kwargs))
        assert code == "InvalidParameterValue", (kwargs, code)
        assert time.monotonic() - start < 2, kwargs  # refused, not waited on
    code, _ = query_code(sqs_daemon, {"Action": "ReceiveMessage", "QueueUrl": url,
                                      "WaitTimeSeconds": "twenty", **V})
    assert code in ("InvalidParameterValue", "MalformedQueryString"), code
    kind, _, _ = json_code(sqs_daemon, "ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 21})
    assert kind == "InvalidParameterValue", kind
    still_serving(sqs_daemon)


def test_message_attribute_limits(sqs, sqs_daemon, url):
    eleven = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    for attrs in (eleven,
                  {"x": {"DataType": "Weird", "StringValue": "v"}},
                  {"x": {"DataType": "String", "StringValue": ""}},
                  {"x": {"DataType": "Number", "StringValue": "not a number"}},
                  {"AWS.reserved": {"DataType": "String", "StringValue": "v"}},
                  {"bad name!": {"DataType": "String", "StringValue": "v"}}):
        code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x",
                                                   MessageAttributes=attrs))
        assert code in ("InvalidParameterValue", "InvalidParameterCombination"), (attrs, code)
    code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901))
    assert code == "InvalidParameterValue", code
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    still_serving(sqs_daemon)


def test_invalid_characters_in_a_body(sqs, sqs_daemon, url):
    for body in ("nul \x00 here", "bell \x07", "\x1f", "\ufffe", "surrogate-free but \x0b"):
        code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody=body))
        assert code == "InvalidMessageContents", (repr(body), code)
    kind, _, header = json_code(sqs_daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "a\u0000b"})
    assert kind == "InvalidMessageContents", kind
    # In a batch, the entry fails alone.
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "fine \t\n\r ✓"}, {"Id": "bad", "MessageBody": "\x01"}])
    assert [s["Id"] for s in sent["Successful"]] == ["ok"]
    assert [(f["Id"], f["Code"]) for f in sent["Failed"]] == [("bad", "InvalidMessageContents")]
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert m["Body"] == "fine \t\n\r ✓"
    still_serving(sqs_daemon)


def test_empty_body(sqs, sqs_daemon, url):
    code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody=""))
    assert code in ("MissingParameter", "InvalidParameterValue"), code
    still_serving(sqs_daemon)


# --- receipt handles ----------------------------------------------------------------------

def test_invalid_receipt_handles(sqs, sqs_daemon, url):
    for handle in ("garbage", "A" * 2000, "%00\x00", "AQEB" + "=" * 10):
        code, _ = code_of(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=handle))
        assert code == "ReceiptHandleIsInvalid", (handle, code)
        code, _ = code_of(lambda: sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0))
        assert code == "ReceiptHandleIsInvalid", (handle, code)
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": "garbage"}])
    assert [(f["Id"], f["Code"]) for f in deleted["Failed"]] == [("x", "ReceiptHandleIsInvalid")]
    kind, _, _ = json_code(sqs_daemon, "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": "garbage"})
    assert kind == "ReceiptHandleIsInvalid", kind
    still_serving(sqs_daemon)


def test_a_handle_of_another_queue(sqs, sqs_daemon):
    a = sqs.create_queue(QueueName=unique())["QueueUrl"]
    b = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=a, MessageBody="mine")
    [m] = sqs.receive_message(QueueUrl=a, VisibilityTimeout=60)["Messages"]
    with pytest.raises(ClientError):
        sqs.change_message_visibility(QueueUrl=b, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    # Whatever `b` answered to a delete, `a`'s message is untouched.
    try:
        sqs.delete_message(QueueUrl=b, ReceiptHandle=m["ReceiptHandle"])
    except ClientError:
        pass
    a_counts = sqs.get_queue_attributes(QueueUrl=a, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert a_counts["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    still_serving(sqs_daemon)


def test_change_visibility_of_a_deleted_message(sqs, sqs_daemon, url):
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    code, _ = code_of(lambda: sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=10))
    assert code in ("AWS.SimpleQueueService.MessageNotInflight", "ReceiptHandleIsInvalid",
                    "InvalidParameterValue"), code
    still_serving(sqs_daemon)


# --- clients that go away -----------------------------------------------------------------

def test_client_disconnects_mid_long_poll(sqs, sqs_daemon, url):
    body = urllib.parse.urlencode({"Action": "ReceiveMessage", "QueueUrl": url,
                                   "WaitTimeSeconds": "20", "VisibilityTimeout": "1", **V})
    request = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", sqs_daemon.port))
        s.sendall(request)
        socks.append(s)
    # A JSON-protocol poll too.
    jbody = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 20, "VisibilityTimeout": 1})
    s = socket.create_connection(("127.0.0.1", sqs_daemon.port))
    s.sendall((f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
               f"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: {len(jbody)}\r\n\r\n"
               f"{jbody}").encode())
    socks.append(s)
    time.sleep(0.3)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset: gone at once
    time.sleep(0.2)
    still_serving(sqs_daemon)
    sqs.send_message(QueueUrl=url, MessageBody="for the living")
    # Even were it handed to a dead poll, that lease lasts 1 s.
    start = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in got] == ["for the living"]
    assert time.monotonic() - start < 3
    still_serving(sqs_daemon)


def open_fds(daemon):
    return len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))


def test_dead_long_polls_let_go_of_their_connections(sqs_daemon, url):
    """Clients that reset their connection mid long poll: the daemon lets go of those
    connections within seconds, not when their 20 s are up (else abandoned polls pile up
    against the connection limit)."""
    fds_before = open_fds(sqs_daemon)
    body = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 20})
    request = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
               f"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: {len(body)}\r\n\r\n"
               f"{body}").encode()
    socks = [socket.create_connection(("127.0.0.1", sqs_daemon.port)) for _ in range(30)]
    for s in socks:
        s.sendall(request)
    time.sleep(0.3)
    assert open_fds(sqs_daemon) >= fds_before + 30
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert wait_until(lambda: open_fds(sqs_daemon) <= fds_before + 2, timeout=5), \
        (fds_before, open_fds(sqs_daemon))
    still_serving(sqs_daemon)


def test_long_polls_on_a_deleted_queue_end(sqs, sqs_daemon):
    """A queue deleted under a parked long poll: the poll still answers (empty or an error)
    within its wait; the daemon keeps serving."""
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    result = {}

    def poll():
        start = time.monotonic()
        try:
            result["messages"] = sqs_client(sqs_daemon.endpoint).receive_message(
                QueueUrl=url, WaitTimeSeconds=3).get("Messages", [])
        except ClientError as e:
            result["error"] = e.response["Error"]["Code"]
        result["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    sqs.delete_queue(QueueUrl=url)
    t.join(10)
    assert not t.is_alive()
    assert result.get("messages", []) == []
    assert result["elapsed"] < 4, result
    still_serving(sqs_daemon)


def test_xml_answers_are_well_formed(sqs_daemon, url):
    """Every query-protocol answer parses as XML, errors included."""
    for params in ({"Action": "ListQueues", **V},
                   {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "All", **V},
                   {"Action": "SendMessage", "QueueUrl": url, "MessageBody": "<&>\"'", **V},
                   {"Action": "GetQueueUrl", "QueueName": "<&>", **V}):
        status, headers, body = query(sqs_daemon, params)
        xml(body)
        assert "xml" in headers.get("content-type", ""), headers
    status, _, body = query(sqs_daemon, {"Action": "ReceiveMessage", "QueueUrl": url, **V})
    assert status == 200
    assert xml(body).find(".//Message/Body").text == "<&>\"'"


def test_shutdown_answers_parked_long_polls(make_daemon):
    """SIGTERM with long polls parked: they are answered (or their connections closed) at
    once, and the daemon exits well before their 20 s."""
    d = make_daemon().start()
    sqs = sqs_client(d.endpoint)
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    results = []

    def poll():
        start = time.monotonic()
        try:
            sqs_client(d.endpoint).receive_message(QueueUrl=url, WaitTimeSeconds=20)
        except Exception:  # noqa: BLE001  (a closed connection is an acceptable end too)
            pass
        results.append(time.monotonic() - start)

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    start = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=15)
    assert time.monotonic() - start < 8
    for t in threads:
        t.join(10)
    assert len(results) == 3 and max(results) < 10, results
