"""What the SQS suites share: one daemon per module (queues have unique names, so tests do
not disturb each other), a boto3 SQS client (the query protocol in boto3 1.29), and raw
requests in either wire protocol through http.client, for what no SDK would send."""

import http.client
import json
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import Daemon

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def sqs_daemon(bin_dir, tmp_path_factory):
    d = Daemon(bin_dir, tmp_path_factory.mktemp("sqs") / "data").start()
    yield d
    d.stop()


def sqs_client(endpoint, **config):
    return boto3.session.Session().client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60,
                      **config))


def unique(prefix="q"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def raw(daemon, method, path, body=b"", headers=None, timeout=30):
    """(status, {lower-case header: value}, body bytes) of one request on a fresh
    connection; whatever the body and headers are, they are sent as they are."""
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def query(daemon, params, path="/", method="POST", headers=None):
    """A query-protocol call; `params` a dict or list of pairs, or a str sent verbatim."""
    body = params if isinstance(params, (str, bytes)) else urllib.parse.urlencode(params)
    if method == "GET":
        return raw(daemon, "GET", f"{path}?{body}", headers=headers)
    return raw(daemon, method, path, body,
               {"Content-Type": FORM_CONTENT_TYPE, **(headers or {})})


def json_call(daemon, operation, body, path="/", headers=None):
    """A JSON-protocol call; `body` a dict, or a str / bytes sent verbatim."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return raw(daemon, "POST", path, data,
               {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": f"AmazonSQS.{operation}",
                **(headers or {})})


def strip_ns(root):
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def xml(body):
    return strip_ns(ET.fromstring(body))


def query_error(status, body):
    """The (Type, Code, Message) of a query-protocol error answer; asserts its shape:
    <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>."""
    assert 400 <= status < 600, (status, body)
    root = xml(body)
    assert root.tag == "ErrorResponse", body
    error = root.find("Error")
    assert error is not None, body
    assert root.findtext("RequestId"), body
    return error.findtext("Type"), error.findtext("Code"), error.findtext("Message")


def json_error(status, headers, body):
    """The (__type without its namespace, message, x-amzn-query-error) of a JSON-protocol
    error answer."""
    assert 400 <= status < 600, (status, body)
    doc = json.loads(body)
    kind = doc.get("__type", "")
    assert kind, body
    message = doc.get("message", doc.get("Message"))
    return kind.rsplit("#", 1)[-1], message, headers.get("x-amzn-query-error")


def create_queue(daemon, name, attributes=None):
    """CreateQueue over the JSON protocol; the queue's URL."""
    body = {"QueueName": name}
    if attributes:
        body["Attributes"] = attributes
    status, _, data = json_call(daemon, "CreateQueue", body)
    assert status == 200, (status, data)
    return json.loads(data)["QueueUrl"]


def still_serving(daemon):
    """The daemon answers a well-formed SQS call in both protocols, and its health check."""
    status, _, body = json_call(daemon, "ListQueues", {})
    assert status == 200, (status, body)
    status, _, body = query(daemon, {"Action": "ListQueues", "Version": "2012-11-05"})
    assert status == 200, (status, body)
    status, _, _ = raw(daemon, "GET", "/lambent/v1/health")
    assert status == 200
