#!/usr/bin/env python3
"""Fuzzes a real `lambent serve` from outside and from inside an environment.

The HTTP front gets mutated requests: request lines, methods, function names with arbitrary
bytes, headers, bodies (random bytes, deep nesting, wrong JSON types, broken framing). The
Runtime API gets the same from a function's own bootstrap: every endpoint, with arbitrary
bytes in ids, bodies and headers, before and during invocations and as an init error. The
SQS-compatible API gets every operation in both wire protocols (form-encoded query and
X-Amz-Target JSON) with hostile names, numbers, attributes, batches and receipt handles,
real and mutated.

The daemon must never die, must answer every request whose framing is valid, and every
Invoke must come back with Lambda's shapes (a JSON body). A failure prints the seed and the
input, so `--seed N` replays it (FUZZ_VERBOSE=1 prints every 5xx answer). Bounded by
--seconds; only loopback is used.
"""

import argparse
import base64
import http.client
import json
import os
import random
import socket
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from conftest import Daemon, make_zip  # noqa: E402  (the e2e suite's daemon and zip helpers)

BOOTSTRAP = (Path(__file__).resolve().parent / "runtime_fuzzer.py").read_text()

FUNCTIONS = "/2015-03-31/functions"
METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT",
           b"BREW", b"get", b""]
PATHS = [FUNCTIONS, FUNCTIONS + "/{n}", FUNCTIONS + "/{n}/invocations", FUNCTIONS + "/{n}/configuration",
         FUNCTIONS + "/{n}/code", "/2016-08-19/account-settings", "/lambent/v1/health",
         "/lambent/v1/runtimes", "/lambent/v1/prestarted", "/lambent/v1/functions/{n}/logs?tail={q}",
         "/lambent/v1/functions/{n}/environments", "/lambent/v1/code/{n}.zip", "/{n}", "*", "/",
         # Versions, aliases, tags, concurrency (issue 11).
         FUNCTIONS + "/{n}/versions", FUNCTIONS + "/{n}/versions?Marker={q}&MaxItems={q}",
         FUNCTIONS + "/{n}/aliases", FUNCTIONS + "/{n}/aliases/{n}", FUNCTIONS + "/{n}?Qualifier={q}",
         FUNCTIONS + "/{n}/invocations?Qualifier={n}", "/2017-03-31/tags/{n}",
         "/2017-03-31/tags/{n}?tagKeys={n}&tagKeys={q}", "/2017-10-31/functions/{n}/concurrency",
         "/2019-09-30/functions/{n}/concurrency", "/2019-09-30/functions/{n}/provisioned-concurrency?Qualifier={q}",
         "/2019-09-30/functions/{n}/provisioned-concurrency?List=ALL", "/lambent/v1/status",
         # The event plane and triggers (issues 12 and 13).
         "/2019-09-25/functions/{n}/event-invoke-config?Qualifier={q}", "/2019-09-25/functions/{n}/event-invoke-config/list",
         "/2014-11-13/functions/{n}/invoke-async/", "/2015-03-31/event-source-mappings/",
         "/2015-03-31/event-source-mappings/{n}", "/2015-03-31/event-source-mappings/?FunctionName={n}&Marker={q}",
         "/2021-10-31/functions/{n}/url?Qualifier={q}", "/2021-10-31/functions/{n}/urls",
         FUNCTIONS + "/{n}/policy", FUNCTIONS + "/{n}/policy/{n}?RevisionId={q}", "/lambent/v1/rules?count={q}",
         "/lambent/v1/functions/{n}/events?state={q}&limit={q}", "/lambda-url/{u}/{n}?{q}={n}",
         "/2021-11-15/functions/{n}/response-streaming-invocations?Qualifier={q}"]
EVENTBRIDGE_OPERATIONS = ["PutRule", "DescribeRule", "ListRules", "EnableRule", "DisableRule", "DeleteRule",
                          "PutTargets", "ListTargetsByRule", "RemoveTargets", "ListRuleNamesByTarget",
                          "CreateEventBus", "DescribeEventBus", "DeleteEventBus", "ListEventBuses",
                          "TestEventPattern", "PutEvents", "Frobnicate", ""]
# Function URL ids the front may hit by Host (a real one is added at start).
URL_IDS = ["0" * 32, "x", ""]
STREAM_URL = []  # the RESPONSE_STREAM URL of fuzz-runtime, once made
HEADER_NAMES = ["Content-Type", "X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context",
                "Host", "Expect", "Connection", "Authorization", "X-Amz-Date", "Transfer-Encoding"]


class Failure(Exception):
    pass


def random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def header_value(rng):
    """Field content as HTTP allows it (visible ASCII, obs-text, spaces): must be answered."""
    choices = [b"Event", b"RequestResponse", b"DryRun", b"Tail", b"None", b"application/json",
               b"100-continue", b"close", base64.b64encode(random_bytes(rng, rng.randint(0, 64)))]
    if rng.random() < 0.5:
        return rng.choice(choices)
    return bytes(rng.choice(list(range(0x21, 0x7F)) + list(range(0x80, 0x100)) + [0x20])
                 for _ in range(rng.randint(0, 80))).strip() or b"x"


def name(rng, known):
    roll = rng.random()
    if roll < 0.3 and known:
        return urllib.parse.quote(rng.choice(known))
    if roll < 0.6:
        return urllib.parse.quote_from_bytes(random_bytes(rng, rng.randint(1, 80)), safe=b"")
    if roll < 0.8:
        return rng.choice(["%ff", "%c0%af", "%00", "..", "%2e%2e%2f", "a" * 300, "%", "%zz",
                           "arn:aws:lambda:eu-west-9:123456789012:function:x:1", "x:$LATEST"])
    return "".join(rng.choice("abcXYZ019-_:$") for _ in range(rng.randint(1, 70)))


def json_body(rng, known):
    """Control-plane and invoke documents with wrong types, odd values and hostile text."""
    values = [None, True, 0, -1, 2**63, 1.5e308, "", "x" * rng.randint(0, 5000), [], {}, [1, [2]],
              "\udcff", {"Variables": {"K": "\ud800"}}, {"Variables": [1]}, {"ZipFile": "!!!"},
              {"ZipFile": base64.b64encode(random_bytes(rng, 200)).decode()},
              {"AdditionalVersionWeights": {"1": 0.5}}, {"AdditionalVersionWeights": {"x": "y", "2": -1}},
              "1", "$LATEST", 1000000]
    keys = ["FunctionName", "Runtime", "Handler", "Role", "Code", "Timeout", "MemorySize", "Environment",
            "EphemeralStorage", "Architectures", "PackageType", "Publish", "TracingConfig", "Layers",
            "ZipFile", "RevisionId", "Description", "Network", "Tags", "Name", "FunctionVersion",
            "RoutingConfig", "CodeSha256", "ReservedConcurrentExecutions", "ProvisionedConcurrentExecutions"]
    doc = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 8))}
    if rng.random() < 0.3 and known:
        doc["FunctionName"] = rng.choice(known)
    # json.dumps with surrogates escaped, then sometimes raw non-UTF-8 bytes spliced in.
    text = json.dumps(doc).encode()
    if rng.random() < 0.3:
        at = rng.randint(0, len(text))
        text = text[:at] + random_bytes(rng, rng.randint(1, 8)) + text[at:]
    return text


def body(rng, known):
    roll = rng.random()
    if roll < 0.45:
        return json_body(rng, known)
    if roll < 0.6:
        return random_bytes(rng, rng.randint(0, 4096))
    if roll < 0.7:
        depth = rng.randint(100, 200000)
        return b"[" * depth + b"]" * (depth if rng.random() < 0.5 else 0)
    if roll < 0.8:
        return b'{"a":' * rng.randint(100, 50000)
    return b""


def structured_request(rng, known):
    """A request with valid framing and hostile content: the daemon must answer it."""
    method = rng.choice([b"GET", b"POST", b"PUT", b"DELETE"])
    path = rng.choice(PATHS).format(n=name(rng, known), q=rng.choice(["5", "-1", "x", "99999999999999"]),
                                    u=rng.choice(URL_IDS))
    data = body(rng, known) if method in (b"POST", b"PUT") else b""
    headers = [(b"Host", b"127.0.0.1")]
    roll = rng.random()
    if roll < 0.12:
        # EventBridge's JSON protocol, with a hostile document.
        method, path = b"POST", "/"
        data = body(rng, known)
        headers.append((b"X-Amz-Target", ("AWSEvents." + rng.choice(EVENTBRIDGE_OPERATIONS)).encode()))
        headers.append((b"Content-Type", b"application/x-amz-json-1.1"))
    elif roll < 0.2:
        # A function URL by its Host, any method, path and body.
        headers = [(b"Host", (rng.choice(URL_IDS) + ".lambda-url.us-east-1.localhost").encode())]
        method = rng.choice([b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"])
        data = body(rng, known) if method in (b"POST", b"PUT", b"PATCH") else b""
    for _ in range(rng.randint(0, 4)):
        headers.append((rng.choice(HEADER_NAMES).encode(), header_value(rng)))
    headers = [(k, v) for k, v in headers if k not in (b"Transfer-Encoding", b"Expect")]
    headers.append((b"Content-Length", str(len(data)).encode()))
    lines = [method + b" " + path.encode() + b" HTTP/1.1"] + [k + b": " + v for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def raw_request(rng, known):
    """Anything at all: mutated framing. The daemon may close without answering, but must live."""
    base = structured_request(rng, known)
    mutations = rng.randint(1, 8)
    data = bytearray(base)
    for _ in range(mutations):
        op = rng.random()
        at = rng.randint(0, len(data))
        if op < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.getrandbits(8)
        elif op < 0.5:
            data[at:at] = random_bytes(rng, rng.randint(1, 16))
        elif op < 0.6:
            del data[at:at + rng.randint(1, 32)]
        elif op < 0.7:
            data[at:at] = rng.choice([b"\r\n", b"\n", b"\r\n\r\n", b"\x00", b":", b" ", b"\t"])
        elif op < 0.8:
            data[at:at] = b"\r\nTransfer-Encoding: " + rng.choice([b"chunked", b"gzip", b"chunked, gzip", b"x"])
        elif op < 0.9:
            data[at:at] = b"\r\nContent-Length: " + rng.choice([b"0", b"-1", b"99999999999999999999", b"1, 2", b"x"])
        else:
            data = bytearray(rng.choice(METHODS) + b" " + bytes(data[at:]))
    return bytes(data)


def exchange(port, data, timeout=10, half_close=True):
    """Sends `data`, half-closes (unless told not to: then `data` should ask for Connection:
    close), and returns what came back (b"" if the daemon just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it may refuse early and close: what it said is still readable
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def check_alive(daemon, context):
    if daemon.proc.poll() is not None:
        raise Failure(f"the daemon died ({context}); its log ends:\n{daemon.log()[-3000:]}")
    status, _, _ = daemon.request("GET", "/lambent/v1/health", timeout=10)
    if status != 200:
        raise Failure(f"health answered {status} ({context})")


def fuzz_front(daemon, rng, deadline, known, stats):
    while time.time() < deadline:
        structured = rng.random() < 0.6
        data = structured_request(rng, known) if structured else raw_request(rng, known)
        answer = exchange(daemon.port, data)
        stats["front"] += 1
        if structured and not answer.startswith(b"HTTP/1.1 "):
            check_alive(daemon, "front")
            raise Failure(f"no answer to a well-framed request: {data[:600]!r}")
        if answer.startswith(b"HTTP/1.1 5"):
            stats["front_5xx"] += 1
            if os.environ.get("FUZZ_VERBOSE"):
                print(f"5xx: {answer[:300]!r} for {data[:200]!r}")
            if b"internal error" in answer:
                raise Failure(f"a handler threw (see the daemon's log) on: {data[:600]!r}")
        if stats["front"] % 50 == 0:
            check_alive(daemon, "front")
    check_alive(daemon, "front")


SQS_OPERATIONS = ["CreateQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes",
                  "DeleteQueue", "PurgeQueue", "SendMessage", "SendMessageBatch", "ReceiveMessage",
                  "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
                  "ChangeMessageVisibilityBatch", "TagQueue", "UntagQueue", "ListQueueTags",
                  "ListDeadLetterSourceQueues", "AddPermission", "Frobnicate", ""]
SQS_QUEUE_ATTRIBUTES = ["VisibilityTimeout", "DelaySeconds", "MessageRetentionPeriod", "MaximumMessageSize",
                        "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
                        "FifoThroughputLimit", "Policy", "All", "QueueArn", "Colour", ""]
# Never a valid long wait: the fuzzer must not park on a poll (0 and 1 are the valid ones).
SQS_WAITS = [0, 1, -1, 21, 2**40, "x", "", "1.5", None, [], {}]


class SqsFuzzer:
    """Hostile SQS calls with well-formed framing: each must be answered in its protocol's
    shape. It keeps a few real queues and receipt handles so that mutations land deep."""

    def __init__(self, daemon, rng):
        self.daemon = daemon
        self.rng = rng
        self.names = ["fuzz-a", "fuzz-b", "fuzz-dlq", "fuzz-f.fifo"]
        self.urls = []
        self.handles = []

    def setup(self):
        for queue in self.names:
            attributes = {"FifoQueue": "true"} if queue.endswith(".fifo") else {}
            ok, doc = self.json_call("CreateQueue", {"QueueName": queue, "Attributes": attributes})
            if not ok:
                raise Failure(f"CreateQueue {queue} failed: {doc}")
            self.urls.append(doc["QueueUrl"])
        self.refill()

    def json_call(self, operation, document):
        """A well-formed call, as an SDK makes it (exchange()'s half-close reads as a client
        that left, and a receive for a client that left takes nothing)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=30)
        try:
            conn.request("POST", "/", body=json.dumps(document), headers={
                "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status == 200, json.loads(body or b"{}")
        except (OSError, ValueError) as e:
            return False, repr(e)
        finally:
            conn.close()

    def refill(self):
        """Real receipt handles for the mutations to work on."""
        for url in self.urls[:2] + self.urls[3:]:
            self.json_call("SendMessageBatch", {"QueueUrl": url, "Entries": [
                {"Id": str(i), "MessageBody": f"fuzz {i}", "MessageGroupId": f"g{i % 2}",
                 "MessageDeduplicationId": f"{time.time()}-{i}"} if url.endswith(".fifo") else
                {"Id": str(i), "MessageBody": f"fuzz {i}"} for i in range(3)]})
            ok, doc = self.json_call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                                        "VisibilityTimeout": 1})
            if ok:
                self.handles.extend(m["ReceiptHandle"] for m in doc.get("Messages", []))
        del self.handles[:-40]

    @staticmethod
    def frame(method, path, headers, data):
        # Connection: close, not a half-close: a receive for a client that left takes nothing.
        headers = [(b"Host", b"127.0.0.1"), (b"Connection", b"close"), *headers,
                   (b"Content-Length", str(len(data)).encode())]
        lines = [method + b" " + path + b" HTTP/1.1"] + [k + b": " + v for k, v in headers]
        return b"\r\n".join(lines) + b"\r\n\r\n" + data

    # --- values -------------------------------------------------------------------------
    def text(self):
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return "".join(rng.choice("abcXYZ019-_.") for _ in range(rng.randint(0, 90)))
        if roll < 0.5:
            return rng.choice(["", " ", "\x00", "\ufffe", "\ud800", "<&>\"'", "a" * rng.randint(0, 300000),
                               "%zz", "../..", "All", ".*", "AWS.x", "é" * 50, "\r\n", "1e999"])
        return random_bytes(rng, rng.randint(0, 64)).decode("latin-1")

    def scalar(self):
        return self.rng.choice([self.text(), self.rng.randint(-2**63, 2**63), -1, 0, 1, 10, 11, 43201,
                                1.5, True, None, [], {}, "10"])

    def queue_url(self):
        rng = self.rng
        url = rng.choice(self.urls) if self.urls else "http://127.0.0.1/000000000000/x"
        roll = rng.random()
        if roll < 0.5:
            return url
        if roll < 0.7:
            return url.rsplit("/", 1)[0] + "/" + self.text()
        if roll < 0.8:
            return url + rng.choice(["/", "/x", "?a=b", "%00", ".fifo"])
        return self.scalar()

    def handle(self):
        rng = self.rng
        if self.handles and rng.random() < 0.6:
            h = rng.choice(self.handles)
            if rng.random() < 0.5:
                return h
            at = rng.randint(0, len(h))
            return h[:at] + rng.choice(["", "A", "=", "\x00", "%", h[:at]]) + h[at + 1:]
        return self.scalar()

    def attributes(self):
        rng = self.rng
        out = {}
        for _ in range(rng.randint(0, 4)):
            key = rng.choice(SQS_QUEUE_ATTRIBUTES + [self.text()])
            out[key] = rng.choice([self.text(), "0", "1", "-1", "43201", "262145", "true", "false",
                                   json.dumps({"deadLetterTargetArn": self.text(), "maxReceiveCount": self.scalar()}),
                                   json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:fuzz-dlq",
                                               "maxReceiveCount": rng.choice([1, "2", 0, 1001, "x"])})])
        return out

    def message_attributes(self):
        rng = self.rng
        out = {}
        for _ in range(rng.randint(0, 12)):
            value = {"DataType": rng.choice(["String", "Number", "Binary", "String.x", "Number.1", "Weird", "",
                                             self.text()])}
            if rng.random() < 0.8:
                value["StringValue"] = rng.choice([self.text(), "1", "-1.5e3", "1e999", "nan"])
            if rng.random() < 0.3:
                value["BinaryValue"] = rng.choice([base64.b64encode(random_bytes(rng, 40)).decode(), "!!!", ""])
            out[rng.choice(["a", "b.c", "AWS.x", ".x", "x.", "a..b", self.text()])] = value
        return out

    def entries(self):
        rng = self.rng
        out = []
        for i in range(rng.choice([0, 1, 2, 10, 11, rng.randint(0, 30)])):
            entry = {"Id": rng.choice([str(i), str(i), "same", "bad id!", "x" * 81, self.scalar()]),
                     "MessageBody": rng.choice([f"body {i}", self.text()]),
                     "ReceiptHandle": self.handle(),
                     "VisibilityTimeout": rng.choice([0, 1, -1, 43201, self.scalar()]),
                     "DelaySeconds": rng.choice([0, 1, 901, self.scalar()]),
                     "MessageGroupId": rng.choice(["g", "h", "", self.text()]),
                     "MessageDeduplicationId": rng.choice(["d", str(i), "x" * 129, self.text()])}
            if rng.random() < 0.3:
                entry["MessageAttributes"] = self.message_attributes()
            for key in list(entry):
                if rng.random() < 0.1:
                    del entry[key]
            out.append(entry)
        return out

    def document(self, operation):
        """A JSON-protocol input for `operation`: its members with hostile values, some
        missing, some extra."""
        rng = self.rng
        doc = {"QueueUrl": self.queue_url(), "QueueName": rng.choice(self.names + [self.text()]),
               "Attributes": self.attributes(), "AttributeNames": rng.choice([["All"], [self.text()], "All", []]),
               "MessageSystemAttributeNames": [rng.choice(["All", "ApproximateReceiveCount", self.text()])],
               "MessageAttributeNames": rng.choice([["All"], [".*"], ["a.*"], [self.text()], None]),
               "MessageBody": self.text() if rng.random() < 0.7 else "hello",
               "MessageAttributes": self.message_attributes(), "DelaySeconds": rng.choice([0, 1, 901, self.scalar()]),
               "MaxNumberOfMessages": rng.choice([1, 10, 0, 11, self.scalar()]),
               "WaitTimeSeconds": rng.choice(SQS_WAITS), "VisibilityTimeout": rng.choice([0, 1, 43201, self.scalar()]),
               "ReceiptHandle": self.handle(), "Entries": self.entries(),
               "Tags": {self.text(): self.text() for _ in range(rng.randint(0, 3))},
               "TagKeys": [self.text()], "QueueNamePrefix": self.text(), "MaxResults": self.scalar(),
               "NextToken": self.text(), "MessageGroupId": rng.choice(["g", "h", self.text()]),
               "MessageDeduplicationId": rng.choice(["d", "e", "x" * 129, self.text()]),
               "ReceiveRequestAttemptId": self.text()}
        if operation == "CreateQueue" and rng.random() < 0.5:
            doc["QueueName"] = rng.choice(self.names)
        # Keep what a real call of this kind would carry, mostly; drop or retype the rest.
        for key in list(doc):
            if rng.random() < 0.35:
                del doc[key]
            elif rng.random() < 0.05:
                doc[key] = self.scalar()
        if operation in ("ReceiveMessage", "ReceiveMessages") or "WaitTimeSeconds" in doc:
            if doc.get("WaitTimeSeconds") not in SQS_WAITS:
                doc["WaitTimeSeconds"] = 0
        return doc

    def form(self, operation, doc):
        """The same input flattened as the query protocol spells it (and sometimes misspells)."""
        rng = self.rng
        pairs = [("Action", operation), ("Version", rng.choice(["2012-11-05", "2012-11-05", "", "1999"]))]

        def add(key, value):
            pairs.append((key, value if isinstance(value, str) else json.dumps(value)))

        for key, value in doc.items():
            if key == "Attributes" and isinstance(value, dict):
                for i, (k, v) in enumerate(value.items(), 1):
                    add(f"Attribute.{i}.Name", k)
                    add(f"Attribute.{i}.Value", v)
            elif key == "MessageAttributes" and isinstance(value, dict):
                for i, (k, v) in enumerate(value.items(), 1):
                    add(f"MessageAttribute.{i}.Name", k)
                    for field, text in v.items():
                        add(f"MessageAttribute.{i}.Value.{field}", text)
            elif key == "Entries" and isinstance(value, list):
                for i, entry in enumerate(value, rng.choice([1, 1, 0, 2])):
                    for field, text in (entry.items() if isinstance(entry, dict) else []):
                        add(f"{operation}RequestEntry.{i}.{field}", text)
            elif key in ("AttributeNames", "MessageAttributeNames", "TagKeys") and isinstance(value, list):
                singular = {"AttributeNames": "AttributeName", "MessageAttributeNames": "MessageAttributeName",
                            "TagKeys": "TagKey"}[key]
                for i, v in enumerate(value, 1):
                    add(f"{singular}.{i}", v)
            elif key == "Tags" and isinstance(value, dict):
                for i, (k, v) in enumerate(value.items(), 1):
                    add(f"Tag.{i}.Key", k)
                    add(f"Tag.{i}.Value", v)
            else:
                add(key, value)
        rng.shuffle(pairs)
        if rng.random() < 0.1:
            pairs.append((rng.choice(["Action", "QueueUrl", "Attribute.1.Name"]), self.text()))
        text = "&".join(urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v.encode("utf-8", "surrogatepass"), safe="")
                        for k, v in pairs)
        if rng.random() < 0.15:  # broken percent-encoding, stray separators, raw bytes
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(["%", "%z", "&&", "=", "%ff%fe", "+", "\x00"]) + text[at:]
        return text.encode("utf-8", "surrogatepass")

    def request(self):
        """(protocol, request bytes)."""
        rng = self.rng
        operation = rng.choice(SQS_OPERATIONS)
        doc = self.document(operation)
        roll = rng.random()
        if roll < 0.45:
            data = json.dumps(doc).encode() if rng.random() < 0.9 else rng.choice([
                b"", b"{", b"[]", b"null", random_bytes(rng, 64), b"[" * 100000])
            return "json", self.frame(b"POST", rng.choice([b"/", b"/000000000000/fuzz-a"]), [
                (b"Content-Type", rng.choice([b"application/x-amz-json-1.0", b"application/json",
                                              b"application/x-amz-json-1.0; charset=utf-8"])),
                (b"X-Amz-Target", b"AmazonSQS." + operation.encode())], data)
        data = self.form(operation, doc)
        if roll < 0.9 or len(data) > 6000:
            return "query", self.frame(b"POST", rng.choice([b"/", b"/000000000000/fuzz-a"]), [
                (b"Content-Type", b"application/x-www-form-urlencoded")], data)
        return "get", self.frame(b"GET", b"/?" + data.replace(b" ", b"%20").replace(b"\r", b"%0D")
                                   .replace(b"\n", b"%0A").replace(b"\x00", b"%00"), [], b"")

    def check(self, protocol, data, answer):
        if not answer.startswith(b"HTTP/1.1 "):
            raise Failure(f"no answer to a well-framed SQS request: {data[:600]!r}")
        head, _, body = answer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        if status >= 500 and (b"InternalFailure" in body or b"internal error" in body):
            raise Failure(f"an SQS handler failed on: {data[:600]!r}\nanswer: {answer[:400]!r}")
        if status in (413, 431) or b"chunked" in head.lower():
            return
        # A GET whose query lost its Action to the mutations is not an SQS call at all.
        if protocol == "get" and b"xml" not in head.lower():
            return
        if protocol == "json":
            try:
                doc = json.loads(body) if body else {}
            except ValueError:
                raise Failure(f"a JSON-protocol answer is not JSON: {answer[:400]!r} to {data[:400]!r}")
            if status >= 400 and not (isinstance(doc, dict) and doc.get("__type")):
                raise Failure(f"a JSON-protocol error without __type: {answer[:400]!r} to {data[:400]!r}")
        else:
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                raise Failure(f"a query-protocol answer is not XML: {answer[:400]!r} to {data[:400]!r}")
            if status >= 400 and not root.tag.endswith("ErrorResponse"):
                raise Failure(f"a query-protocol error without ErrorResponse: {answer[:400]!r}")

    def round_trip(self):
        """A well-formed send and receive still works."""
        ok, doc = self.json_call("CreateQueue", {"QueueName": "fuzz-check"})
        if not ok:
            raise Failure(f"CreateQueue after fuzzing failed: {doc}")
        url = doc["QueueUrl"]
        ok, sent = self.json_call("SendMessage", {"QueueUrl": url, "MessageBody": "still here"})
        ok2, got = self.json_call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 1})
        if not (ok and ok2 and [m["Body"] for m in got.get("Messages", [])] == ["still here"]):
            raise Failure(f"a send and receive after fuzzing failed: {sent} {got}")
        self.json_call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": got["Messages"][0]["ReceiptHandle"]})


def fuzz_sqs(daemon, rng, deadline, stats):
    fuzzer = SqsFuzzer(daemon, rng)
    fuzzer.setup()
    while time.time() < deadline:
        protocol, data = fuzzer.request()
        answer = exchange(daemon.port, data, half_close=False)
        stats["sqs"] += 1
        if answer.startswith(b"HTTP/1.1 5"):
            stats["sqs_5xx"] += 1
            if os.environ.get("FUZZ_VERBOSE"):
                print(f"5xx: {answer[:300]!r} for {data[:200]!r}")
        fuzzer.check(protocol, data, answer)
        if stats["sqs"] % 50 == 0:
            check_alive(daemon, "sqs")
            fuzzer.refill()
    check_alive(daemon, "sqs")
    fuzzer.round_trip()


def deploy_fuzz_functions(daemon):
    bootstrap = {"bootstrap": (BOOTSTRAP, 0o755)}
    for name, mode in (("fuzz-runtime", "invoke"), ("fuzz-init", "init")):
        daemon.create(name, bootstrap, runtime="provided.al2023", handler="x", Timeout=10,
                      Environment={"Variables": {"FUZZ_MODE": mode}})
    status, _, answer = daemon.request("POST", "/2021-10-31/functions/fuzz-runtime/url",
                                       json.dumps({"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}).encode())
    if status == 201:
        STREAM_URL.append(json.loads(answer)["FunctionUrl"].split("//")[1].split(".")[0])


def fuzz_runtime(daemon, rng, deadline, stats):
    """Each invocation asks the function's bootstrap to fuzz its own Runtime API with a seed."""
    while time.time() < deadline:
        function = "fuzz-runtime" if rng.random() < 0.8 else "fuzz-init"
        payload = json.dumps({"seed": rng.getrandbits(32), "requests": rng.randint(5, 40)}).encode()
        way = rng.random()
        if function == "fuzz-runtime" and way < 0.2 and STREAM_URL:
            # Through a RESPONSE_STREAM URL: any status, a cut stream, but an answer in time.
            try:
                status, _, _ = daemon.request("POST", f"/lambda-url/{STREAM_URL[0]}/", payload, timeout=40)
            except http.client.IncompleteRead:
                status = 200  # a stream cut because the function failed midway, as Lambda does
            if status is None or status >= 600:
                raise Failure(f"streamed URL payload {payload!r}: status {status}")
            stats["runtime"] += 1
            check_alive(daemon, f"runtime streamed URL {payload!r}")
            continue
        if way < 0.4:
            status, headers, answer = daemon.request(
                "POST", f"/2021-11-15/functions/{function}/response-streaming-invocations", payload, timeout=40)
            stats["runtime"] += 1
            if status not in (200, 429):
                raise Failure(f"{function} streamed payload {payload!r}: status {status}: {answer[:500]!r}")
            check_alive(daemon, f"runtime streamed {function} {payload!r}")
            continue
        status, headers, answer = daemon.invoke(function, payload, timeout=40)
        stats["runtime"] += 1
        if status not in (200, 429):
            raise Failure(f"{function} payload {payload!r}: status {status}: {answer[:500]!r}")
        # A function's own response may be any bytes; an error document is always JSON.
        if status != 200 or "X-Amz-Function-Error" in headers:
            try:
                json.loads(answer)
            except ValueError:
                raise Failure(f"{function} payload {payload!r}: error not JSON: {answer[:500]!r}")
        check_alive(daemon, f"runtime {function} {payload!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambent-bin", default=str(Path(__file__).resolve().parents[2] / "build" / "bin"))
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    stats = {"front": 0, "front_5xx": 0, "sqs": 0, "sqs_5xx": 0, "runtime": 0}
    with tempfile.TemporaryDirectory(prefix="lambent-fuzz-") as tmp:
        daemon = Daemon(Path(args.lambent_bin), Path(tmp) / "data", ["--prestart", "0"]).start()
        try:
            # The front may update or delete what it knows of; the Runtime API's functions
            # are deployed after it.
            known = ["front-a", "front-b"]
            for function in known:
                daemon.create(function, {"app.py": "def handler(event, context):\n    return event\n"})
            status, _, answer = daemon.request("POST", "/2021-10-31/functions/front-a/url",
                                               json.dumps({"AuthType": "NONE"}).encode())
            if status == 201:
                URL_IDS.append(json.loads(answer)["FunctionUrl"].split("//")[1].split(".")[0])
            start = time.time()
            fuzz_front(daemon, rng, start + args.seconds * 0.45, known, stats)
            fuzz_sqs(daemon, rng, start + args.seconds * 0.7, stats)
            deploy_fuzz_functions(daemon)
            fuzz_runtime(daemon, rng, start + args.seconds, stats)
        except Failure as e:
            print(f"FUZZ FAILURE (seed {seed}): {e}")
            print("0 passed, 1 failed")
            return 1
        finally:
            daemon.stop()
    print(f"fuzz: seed {seed}: {stats['front']} requests to the front ({stats['front_5xx']} answered 5xx), "
          f"{stats['sqs']} SQS calls ({stats['sqs_5xx']} answered 5xx), {stats['runtime']} invocations fuzzing the Runtime API; the daemon answered all and lived")
    print("fuzz: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
