"""The SQS JSON protocol (X-Amz-Target: AmazonSQS.*, application/x-amz-json-1.0): through the
unmodified npm @aws-sdk/client-sqs (which checks the MD5s of what it sends and receives), and
raw through http.client for the wire details an SDK hides. The package is installed once per
build tree by fixtures/install_npm_package.sh into build/e2e-cache/sqs-client (set
LAMBENT_SQS_CLIENT_CACHE to use another directory)."""

import base64
import hashlib
import json
import re
import subprocess

import pytest

import npm_clients
from conftest import REPO
from sqs_support import (JSON_CONTENT_TYPE, json_call, query, sqs_daemon, unique,  # noqa: F401
                         xml)

FIXTURES = REPO / "tests" / "e2e" / "fixtures"


@pytest.fixture(scope="module")
def client_dir(request):
    return npm_clients.install(request, "@aws-sdk/client-sqs", "3.1175.0", "sqs-client", "LAMBENT_SQS_CLIENT_CACHE")


@pytest.fixture(scope="module")
def sdk(client_dir, sqs_daemon):
    """Runs a list of steps through the SDK; returns one result per step."""
    def run(steps):
        proc = subprocess.run(["node", str(FIXTURES / "sqs_steps.mjs"), client_dir, sqs_daemon.endpoint],
                              input=json.dumps(steps), capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
        return json.loads(proc.stdout)
    return run


def ok(result):
    assert "ok" in result, result
    return result["ok"]


def ref(step, *keys):
    return {"$ref": [step, *keys]}


def b64(data):
    return {"$bytes": base64.b64encode(data).decode()}


# --- through @aws-sdk/client-sqs -------------------------------------------------------------

def test_sdk_queue_lifecycle(sdk):
    name = unique("js")
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": name, "Attributes": {"VisibilityTimeout": "9"},
                                        "tags": {"via": "json"}}},
        {"op": "CreateQueue", "input": {"QueueName": name, "Attributes": {"VisibilityTimeout": "9"}}},
        {"op": "CreateQueue", "input": {"QueueName": name, "Attributes": {"VisibilityTimeout": "10"}}},
        {"op": "GetQueueUrl", "input": {"QueueName": name}},
        {"op": "ListQueues", "input": {"QueueNamePrefix": name}},
        {"op": "GetQueueAttributes", "input": {"QueueUrl": ref(0, "QueueUrl"), "AttributeNames": ["All"]}},
        {"op": "SetQueueAttributes", "input": {"QueueUrl": ref(0, "QueueUrl"),
                                               "Attributes": {"DelaySeconds": "1"}}},
        {"op": "GetQueueAttributes", "input": {"QueueUrl": ref(0, "QueueUrl"),
                                               "AttributeNames": ["DelaySeconds"]}},
        {"op": "ListQueueTags", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "DeleteQueue", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "GetQueueUrl", "input": {"QueueName": name}},
    ])
    url = ok(r[0])["QueueUrl"]
    assert url.endswith("/" + name)
    assert ok(r[1])["QueueUrl"] == url
    assert r[2]["error"]["name"] == "QueueNameExists", r[2]
    assert r[2]["error"]["status"] == 400
    assert ok(r[3])["QueueUrl"] == url
    assert ok(r[4])["QueueUrls"] == [url]
    a = ok(r[5])["Attributes"]
    assert a["VisibilityTimeout"] == "9" and a["QueueArn"].endswith(":" + name)
    assert ok(r[7])["Attributes"] == {"DelaySeconds": "1"}
    assert ok(r[8])["Tags"] == {"via": "json"}
    ok(r[9])
    assert r[10]["error"]["name"] == "QueueDoesNotExist", r[10]
    # The SDK takes the query protocol's code from x-amzn-query-error.
    assert r[10]["error"]["code"] in (None, "AWS.SimpleQueueService.NonExistentQueue"), r[10]


def test_sdk_messages(sdk):
    body = "json ✓ <&> \r\n"
    attrs = {"s": {"DataType": "String", "StringValue": "text"},
             "n": {"DataType": "Number", "StringValue": "-1.5e3"},
             "b": {"DataType": "Binary", "BinaryValue": b64(bytes(range(200)))}}
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": unique("js")}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MessageBody": body,
                                        "MessageAttributes": attrs}},
        {"op": "SendMessageBatch", "input": {"QueueUrl": ref(0, "QueueUrl"), "Entries": [
            {"Id": f"e{i}", "MessageBody": f"batch {i}"} for i in range(3)]}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MaxNumberOfMessages": 10,
                                           "MessageAttributeNames": ["All"],
                                           "MessageSystemAttributeNames": ["All"],
                                           "VisibilityTimeout": 30}},
    ])
    sent = ok(r[1])
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"]
    batch = ok(r[2])
    assert sorted(s["Id"] for s in batch["Successful"]) == ["e0", "e1", "e2"]
    assert batch.get("Failed", []) == []
    messages = ok(r[3])["Messages"]
    # One short poll may answer with fewer; the rest come below.
    by_body = {m["Body"]: m for m in messages}
    assert body in by_body, messages
    m = by_body[body]
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["MessageAttributes"]["s"] == {"DataType": "String", "StringValue": "text"}
    assert m["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "-1.5e3"}
    assert m["MessageAttributes"]["b"] == {"DataType": "Binary", "BinaryValue": b64(bytes(range(200)))}
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(m["Attributes"]["SentTimestamp"]) > 0

    url = ok(r[0])["QueueUrl"]
    handles = [{"Id": f"d{i}", "ReceiptHandle": x["ReceiptHandle"]} for i, x in enumerate(messages)]
    r = sdk([
        {"op": "ReceiveMessage", "input": {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                           "WaitTimeSeconds": 1, "VisibilityTimeout": 30}},
        {"op": "DeleteMessageBatch", "input": {"QueueUrl": url, "Entries": handles}},
        {"op": "GetQueueAttributes", "input": {"QueueUrl": url, "AttributeNames": [
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}},
    ])
    rest = ok(r[0]).get("Messages", [])
    assert sorted([x["Body"] for x in messages] + [x["Body"] for x in rest]) == \
        sorted([body] + [f"batch {i}" for i in range(3)])
    assert len(ok(r[1])["Successful"]) == len(messages)
    assert ok(r[2])["Attributes"] == {"ApproximateNumberOfMessages": "0",
                                      "ApproximateNumberOfMessagesNotVisible": str(len(rest))}


def test_sdk_visibility_delete_purge_and_long_poll(sdk):
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": unique("js")}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MessageBody": "one"}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "VisibilityTimeout": 60}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "ChangeMessageVisibility", "input": {"QueueUrl": ref(0, "QueueUrl"), "VisibilityTimeout": 0,
                                                    "ReceiptHandle": ref(2, "Messages", 0, "ReceiptHandle")}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"),
                                           "MessageSystemAttributeNames": ["ApproximateReceiveCount"]}},
        {"op": "DeleteMessage", "input": {"QueueUrl": ref(0, "QueueUrl"),
                                          "ReceiptHandle": ref(5, "Messages", 0, "ReceiptHandle")}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "WaitTimeSeconds": 1}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MessageBody": "two"}},
        {"op": "PurgeQueue", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "DeleteMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "ReceiptHandle": "garbage"}},
    ])
    assert [m["Body"] for m in ok(r[2])["Messages"]] == ["one"]
    assert ok(r[3]).get("Messages", []) == []
    ok(r[4])
    [again] = ok(r[5])["Messages"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    ok(r[6])
    assert ok(r[7]).get("Messages", []) == []
    assert 900 <= r[7]["ms"] < 3000, r[7]["ms"]
    ok(r[9])
    assert ok(r[10]).get("Messages", []) == []
    assert r[11]["error"]["name"] == "ReceiptHandleIsInvalid", r[11]


def test_sdk_redrive(sdk):
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": unique("js-dlq")}},
        {"op": "GetQueueAttributes", "input": {"QueueUrl": ref(0, "QueueUrl"), "AttributeNames": ["QueueArn"]}},
    ])
    arn = ok(r[1])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    dlq = ok(r[0])["QueueUrl"]
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": unique("js-src"), "Attributes": {"RedrivePolicy": policy}}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MessageBody": "bad"}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "VisibilityTimeout": 1}},
        {"sleep": 1.2},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl")}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": dlq, "WaitTimeSeconds": 2}},
    ])
    assert [m["Body"] for m in ok(r[2])["Messages"]] == ["bad"]
    assert ok(r[4]).get("Messages", []) == []
    assert [m["Body"] for m in ok(r[5])["Messages"]] == ["bad"]


def test_sdk_refusals(sdk):
    r = sdk([
        {"op": "CreateQueue", "input": {"QueueName": unique("js")}},
        {"op": "SendMessageBatch", "input": {"QueueUrl": ref(0, "QueueUrl"), "Entries": [
            {"Id": str(i), "MessageBody": "x"} for i in range(11)]}},
        {"op": "SendMessageBatch", "input": {"QueueUrl": ref(0, "QueueUrl"), "Entries": [
            {"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]}},
        {"op": "ReceiveMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "WaitTimeSeconds": 21}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(0, "QueueUrl"), "MessageBody": "a" * 262145}},
        {"op": "CreateQueue", "input": {"QueueName": unique("js") + ".fifo",
                                        "Attributes": {"FifoQueue": "true"}}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(5, "QueueUrl"), "MessageBody": "x",
                                        "MessageDeduplicationId": "d"}},
        {"op": "SendMessage", "input": {"QueueUrl": ref(5, "QueueUrl"), "MessageBody": "x",
                                        "MessageDeduplicationId": "d", "MessageGroupId": "g"}},
    ])
    assert r[1]["error"]["name"] == "TooManyEntriesInBatchRequest", r[1]
    assert r[2]["error"]["name"] == "BatchEntryIdsNotDistinct", r[2]
    assert r[3]["error"]["name"] == "InvalidParameterValue", r[3]
    assert r[4]["error"]["name"] == "InvalidParameterValue", r[4]
    assert ok(r[5])["QueueUrl"].endswith(".fifo")
    assert r[6]["error"]["name"] == "MissingParameter", r[6]
    assert ok(r[7])["SequenceNumber"]


# --- raw JSON-protocol requests ------------------------------------------------------------

def call(daemon, op, body):
    status, headers, data = json_call(daemon, op, body)
    assert status == 200, (op, status, data)
    assert headers.get("content-type", "").startswith(JSON_CONTENT_TYPE), headers
    return json.loads(data) if data else {}


def test_raw_json_wire_shapes(sqs_daemon):
    url = call(sqs_daemon, "CreateQueue", {"QueueName": unique("raw")})["QueueUrl"]
    blob = bytes(range(256))
    sent = call(sqs_daemon, "SendMessage", {
        "QueueUrl": url, "MessageBody": "raw",
        "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": base64.b64encode(blob).decode()},
                              "s": {"DataType": "String", "StringValue": "v"}}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"raw").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", sent["MD5OfMessageAttributes"])
    got = call(sqs_daemon, "ReceiveMessage", {"QueueUrl": url, "AttributeNames": ["All"],
                                              "MessageAttributeNames": ["All"], "MaxNumberOfMessages": 1})
    [m] = got["Messages"]
    assert m["Body"] == "raw"
    assert base64.b64decode(m["MessageAttributes"]["b"]["BinaryValue"]) == blob
    assert m["MessageAttributes"]["s"] == {"DataType": "String", "StringValue": "v"}
    # Numbers in JSON are JSON numbers; attributes stay strings as SQS's model says.
    assert isinstance(m["Attributes"]["ApproximateReceiveCount"], str)
    # An empty list result is an empty list or left out, never null.
    empty = call(sqs_daemon, "ReceiveMessage", {"QueueUrl": url})
    assert empty.get("Messages", []) == []
    # Operations without output answer an empty object.
    status, _, data = json_call(sqs_daemon, "DeleteMessage", {"QueueUrl": url,
                                                              "ReceiptHandle": m["ReceiptHandle"]})
    assert status == 200 and json.loads(data or b"{}") == {}, (status, data)


def test_raw_json_errors(sqs_daemon):
    status, headers, data = json_call(sqs_daemon, "GetQueueUrl", {"QueueName": unique("nope")})
    assert status == 400
    doc = json.loads(data)
    assert doc["__type"] == "com.amazonaws.sqs#QueueDoesNotExist", doc
    assert doc.get("message"), doc
    assert headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert headers.get("x-amzn-requestid")
    name = unique("raw")
    call(sqs_daemon, "CreateQueue", {"QueueName": name, "Attributes": {"DelaySeconds": "1"}})
    status, headers, data = json_call(sqs_daemon, "CreateQueue", {"QueueName": name,
                                                                   "Attributes": {"DelaySeconds": "2"}})
    assert status == 400
    assert json.loads(data)["__type"] == "com.amazonaws.sqs#QueueNameExists"
    assert headers.get("x-amzn-query-error") == "QueueAlreadyExists;Sender"


def test_raw_json_at_the_queue_url_path_and_with_charset(sqs_daemon):
    url = call(sqs_daemon, "CreateQueue", {"QueueName": unique("raw")})["QueueUrl"]
    path = "/" + url.split("/", 3)[3]
    status, _, data = json_call(sqs_daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "p"}, path=path)
    assert status == 200, data
    status, _, data = json_call(sqs_daemon, "GetQueueAttributes",
                                {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]},
                                headers={"Content-Type": "application/x-amz-json-1.0; charset=utf-8"})
    assert status == 200, data
    assert json.loads(data)["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_protocols_share_queues(sqs_daemon):
    """Sent over the query protocol, received over JSON and the other way round: the same
    messages, with the same MD5s."""
    name = unique("both")
    status, _, data = query(sqs_daemon, {"Action": "CreateQueue", "QueueName": name, "Version": "2012-11-05"})
    assert status == 200, data
    url = xml(data).findtext(".//QueueUrl")
    status, _, data = query(sqs_daemon, {
        "Action": "SendMessage", "QueueUrl": url, "MessageBody": "from query", "Version": "2012-11-05",
        "MessageAttribute.1.Name": "k", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "v"})
    assert status == 200, data
    sent_md5 = xml(data).findtext(".//MD5OfMessageAttributes")
    got = call(sqs_daemon, "ReceiveMessage", {"QueueUrl": url, "MessageAttributeNames": ["All"]})
    [m] = got["Messages"]
    assert m["Body"] == "from query" and m["MD5OfMessageAttributes"] == sent_md5
    call(sqs_daemon, "SendMessage", {"QueueUrl": url, "MessageBody": "from json"})
    status, _, data = query(sqs_daemon, {"Action": "ReceiveMessage", "QueueUrl": url, "Version": "2012-11-05"})
    assert status == 200
    assert xml(data).findtext(".//Message/Body") == "from json"
    # GET works for the query protocol too.
    status, _, data = query(sqs_daemon, {"Action": "GetQueueUrl", "QueueName": name, "Version": "2012-11-05"},
                            method="GET")
    assert status == 200, data
    assert xml(data).findtext(".//QueueUrl") == url
