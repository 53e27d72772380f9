"""boto3 (1.29: SQS over the query protocol) against lambent's SQS-compatible API: what SQS
documents for each operation, checked through an unmodified SDK. boto3 verifies the MD5s
of bodies and message attributes itself, so every send and receive here checks them too."""

import hashlib
import json
import signal
import threading
import time

import pytest

from conftest import wait_until
from sqs_support import boto3, sqs_client, sqs_daemon, unique  # noqa: F401

from botocore.exceptions import ClientError  # noqa: E402


@pytest.fixture(scope="module")
def sqs(sqs_daemon):
    return sqs_client(sqs_daemon.endpoint)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def attributes(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def counts(sqs, url):
    a = attributes(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                   "ApproximateNumberOfMessagesDelayed")
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def receive(sqs, url, **kwargs):
    return sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", [])


def drain(sqs, url, expected, **kwargs):
    """Receives until `expected` messages came (a short poll may answer with fewer)."""
    got = {}
    deadline = time.time() + 10
    while len(got) < expected and time.time() < deadline:
        for m in receive(sqs, url, MaxNumberOfMessages=10, **kwargs):
            got[m["MessageId"]] = m
    return list(got.values())


# --- queues -------------------------------------------------------------------------------

def test_create_get_url_and_default_attributes(sqs, sqs_daemon):
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.startswith(sqs_daemon.endpoint + "/") and url.endswith("/" + name), url
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    a = attributes(sqs, url)
    assert a["QueueArn"].startswith("arn:aws:sqs:us-east-1:") and a["QueueArn"].endswith(":" + name)
    # The account in the ARN is the one in the URL's path.
    assert a["QueueArn"].split(":")[4] == url.rsplit("/", 2)[1]
    assert a["VisibilityTimeout"] == "30"
    assert a["MaximumMessageSize"] == "262144"
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["DelaySeconds"] == "0"
    assert a["ReceiveMessageWaitTimeSeconds"] == "0"
    assert a["ApproximateNumberOfMessages"] == "0"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert a["ApproximateNumberOfMessagesDelayed"] == "0"
    now = time.time()
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        assert abs(int(a[key]) - now) < 120, (key, a[key])  # epoch seconds
    assert "RedrivePolicy" not in a
    assert "FifoQueue" not in a or a["FifoQueue"] == "false"
    # Only what was asked for.
    only = attributes(sqs, url, "VisibilityTimeout")
    assert only == {"VisibilityTimeout": "30"}


def test_create_with_attributes_and_tags(sqs):
    name = unique()
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "7", "MessageRetentionPeriod": "3600", "DelaySeconds": "2",
        "MaximumMessageSize": "2048", "ReceiveMessageWaitTimeSeconds": "3"},
        tags={"team": "payments", "env": "test"})["QueueUrl"]
    a = attributes(sqs, url)
    assert (a["VisibilityTimeout"], a["MessageRetentionPeriod"], a["DelaySeconds"],
            a["MaximumMessageSize"], a["ReceiveMessageWaitTimeSeconds"]) == \
        ("7", "3600", "2", "2048", "3")
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "payments", "env": "test"}


def test_create_is_idempotent_but_refuses_different_attributes(sqs):
    name = unique()
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    again = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    assert again == url
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "11"})
    assert error_code(e) == "QueueAlreadyExists"
    assert isinstance(e.value, sqs.exceptions.QueueNameExists)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert attributes(sqs, url, "VisibilityTimeout")["VisibilityTimeout"] == "10"


def test_unknown_queue(sqs, sqs_daemon):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        sqs.get_queue_url(QueueName=unique("missing"))
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    missing = url.rsplit("/", 1)[0] + "/" + unique("missing")
    for call in (lambda: sqs.send_message(QueueUrl=missing, MessageBody="x"),
                 lambda: sqs.receive_message(QueueUrl=missing),
                 lambda: sqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]),
                 lambda: sqs.purge_queue(QueueUrl=missing),
                 lambda: sqs.delete_queue(QueueUrl=missing)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_list_queues_with_prefix(sqs):
    prefix = unique("list")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(3))
    other = sqs.create_queue(QueueName=unique("other"))["QueueUrl"]
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == urls
    assert sqs.list_queues(QueueNamePrefix=f"{prefix}-1")["QueueUrls"] == [urls[1]]
    everything = sqs.list_queues()["QueueUrls"]
    assert set(urls) | {other} <= set(everything)
    # No match: SQS leaves QueueUrls out.
    assert sqs.list_queues(QueueNamePrefix=unique("none")).get("QueueUrls", []) == []


def test_list_queues_in_pages(sqs):
    prefix = unique("page")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sqs.list_queues(**kwargs)
        assert len(page.get("QueueUrls", [])) <= 2
        seen += page.get("QueueUrls", [])
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert sorted(seen) == urls and pages >= 3


def test_the_daemons_own_queues_stay_out_of_sight(sqs, sqs_daemon):
    """A function's asynchronous invocations queue inside the daemon; SQS never shows them."""
    sqs_daemon.create("sqs-hidden", {"app.py": "def handler(event, context):\n    return event\n"})
    status, _, _ = sqs_daemon.invoke("sqs-hidden", b"{}", {"X-Amz-Invocation-Type": "Event"})
    assert status == 202
    for url in sqs.list_queues().get("QueueUrls", []):
        assert "." not in url.rsplit("/", 1)[1].removesuffix(".fifo"), url
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="lambent.async.sqs-hidden")
    assert error_code(e) in ("AWS.SimpleQueueService.NonExistentQueue", "InvalidParameterValue")


def test_set_queue_attributes(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5",
                                                       "DelaySeconds": "1"})
    a = attributes(sqs, url, "VisibilityTimeout", "DelaySeconds")
    assert a == {"VisibilityTimeout": "5", "DelaySeconds": "1"}
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    assert error_code(e) == "InvalidAttributeValue"


def test_delete_queue(sqs):
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="gone with the queue")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    assert url not in sqs.list_queues().get("QueueUrls", [])


def test_tags(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2"})
    sqs.tag_queue(QueueUrl=url, Tags={"b": "3"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "3"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["a"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "3"}


# --- messages -----------------------------------------------------------------------------

def test_send_and_receive_with_message_attributes(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    body = "héllo ✓ 🎉 <xml> & \"quotes\" \r\n\ttabs"
    attrs = {
        "name": {"DataType": "String", "StringValue": "Zoë"},
        "count": {"DataType": "Number", "StringValue": "42.5"},
        "blob": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
        "custom": {"DataType": "String.json", "StringValue": "{\"k\": 1}"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"]  # boto3 checked its value
    [m] = receive(sqs, url, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["ReceiptHandle"]
    got = m["MessageAttributes"]
    assert got["name"] == {"DataType": "String", "StringValue": "Zoë"}
    assert got["count"] == {"DataType": "Number", "StringValue": "42.5"}
    assert got["blob"] == {"DataType": "Binary", "BinaryValue": bytes(range(256))}
    assert got["custom"] == {"DataType": "String.json", "StringValue": "{\"k\": 1}"}
    a = m["Attributes"]
    assert a["ApproximateReceiveCount"] == "1"
    assert abs(int(a["SentTimestamp"]) / 1000 - time.time()) < 60  # epoch milliseconds
    assert int(a["ApproximateFirstReceiveTimestamp"]) >= int(a["SentTimestamp"])
    assert a["SenderId"]


def test_message_attribute_names_select(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "keep.me": {"DataType": "String", "StringValue": "1"},
        "keep.too": {"DataType": "String", "StringValue": "2"},
        "drop": {"DataType": "String", "StringValue": "3"}})
    [m] = receive(sqs, url, MessageAttributeNames=["keep.*"], AttributeNames=["SentTimestamp"],
                  VisibilityTimeout=0)
    assert set(m["MessageAttributes"]) == {"keep.me", "keep.too"}
    assert set(m["Attributes"]) == {"SentTimestamp"}
    # Without MessageAttributeNames and AttributeNames neither comes back.
    [m] = receive(sqs, url)
    assert "MessageAttributes" not in m
    assert "Attributes" not in m


def test_message_of_exactly_256_kib(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    body = "a" * 262144
    sqs.send_message(QueueUrl=url, MessageBody=body)
    [m] = receive(sqs, url)
    assert m["Body"] == body


def test_send_batch_and_delete_batch(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    entries = [{"Id": f"m{i}", "MessageBody": f"body {i}",
                "MessageAttributes": {"i": {"DataType": "Number", "StringValue": str(i)}}}
               for i in range(10)]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sent.get("Failed", []) == []
    assert sorted(s["Id"] for s in sent["Successful"]) == sorted(e["Id"] for e in entries)
    for s in sent["Successful"]:
        i = int(s["Id"][1:])
        assert s["MD5OfMessageBody"] == hashlib.md5(f"body {i}".encode()).hexdigest()
    assert wait_until(lambda: counts(sqs, url) == (10, 0, 0), timeout=5), counts(sqs, url)
    got = drain(sqs, url, 10, MessageAttributeNames=["All"])
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries)
    for m in got:
        assert m["Body"] == f"body {m['MessageAttributes']['i']['StringValue']}"
    assert counts(sqs, url) == (0, 10, 0)
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    assert deleted.get("Failed", []) == []
    assert sorted(d["Id"] for d in deleted["Successful"]) == sorted(f"d{i}" for i in range(10))
    assert wait_until(lambda: counts(sqs, url) == (0, 0, 0), timeout=5), counts(sqs, url)


def test_send_batch_reports_failed_entries(sqs):
    """An invalid entry fails alone; the others are sent (SQS's partial success)."""
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "good", "MessageBody": "fine"},
        {"Id": "bad", "MessageBody": "fine", "DelaySeconds": 901}])
    assert [s["Id"] for s in sent["Successful"]] == ["good"]
    [failed] = sent["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert failed["Code"] == "InvalidParameterValue"


def test_max_number_of_messages(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    first = receive(sqs, url, MaxNumberOfMessages=2)
    assert 1 <= len(first) <= 2
    # Default MaxNumberOfMessages is 1.
    assert len(receive(sqs, url)) == 1
    rest = drain(sqs, url, 5 - len(first) - 1)
    assert len(first) + 1 + len(rest) == 5
    assert receive(sqs, url, MaxNumberOfMessages=10) == []


def test_approximate_counts(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    assert wait_until(lambda: counts(sqs, url) == (3, 0, 1), timeout=5), counts(sqs, url)
    receive(sqs, url, MaxNumberOfMessages=1)
    assert wait_until(lambda: counts(sqs, url) == (2, 1, 1), timeout=5), counts(sqs, url)


def test_visibility_timeout_on_receive_and_receive_count(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    [m1] = receive(sqs, url, VisibilityTimeout=1, AttributeNames=["ApproximateReceiveCount"])
    assert m1["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receive(sqs, url) == []  # in flight
    time.sleep(1.2)
    [m2] = receive(sqs, url, VisibilityTimeout=30, AttributeNames=["All"])
    assert m2["MessageId"] == m1["MessageId"]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"
    assert m2["ReceiptHandle"] != m1["ReceiptHandle"]


def test_queue_visibility_timeout_applies(sqs):
    url = sqs.create_queue(QueueName=unique(), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert len(receive(sqs, url)) == 1
    assert receive(sqs, url) == []
    assert wait_until(lambda: len(receive(sqs, url)) == 1, timeout=4, interval=0.2)


def test_delay_seconds(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    assert receive(sqs, url) == []
    time.sleep(1.1)
    assert wait_until(lambda: len(receive(sqs, url, VisibilityTimeout=0)) == 1, timeout=3)


def test_long_poll_returns_when_a_message_arrives(sqs, sqs_daemon):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    result = {}

    def poll():
        start = time.monotonic()
        result["messages"] = receive(sqs_client(sqs_daemon.endpoint), url, WaitTimeSeconds=10)
        result["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    t.join(15)
    assert not t.is_alive()
    assert [m["Body"] for m in result["messages"]] == ["wake up"]
    assert 0.4 < result["elapsed"] < 3, result["elapsed"]


def test_many_parked_polls_share_messages_without_duplicates(sqs, sqs_daemon):
    """Twenty parked long polls, then twenty messages: each message goes to one poll only."""
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    got, lock = [], threading.Lock()

    def poll():
        client = sqs_client(sqs_daemon.endpoint)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            messages = receive(client, url, WaitTimeSeconds=1, MaxNumberOfMessages=3)
            with lock:
                got.extend(m["MessageId"] for m in messages)
                if len(got) >= 20:
                    return

    threads = [threading.Thread(target=poll) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    for i in range(0, 20, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": str(j)}
                                                      for j in range(i, i + 10)])
    for t in threads:
        t.join(15)
    assert len(got) == 20 and len(set(got)) == 20, got


def test_long_poll_times_out_empty(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    start = time.monotonic()
    assert receive(sqs, url, WaitTimeSeconds=1) == []
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 3, elapsed


def test_queue_receive_wait_time_is_the_default_wait(sqs):
    url = sqs.create_queue(QueueName=unique(),
                           Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    start = time.monotonic()
    assert receive(sqs, url) == []
    assert 0.9 <= time.monotonic() - start < 3
    # WaitTimeSeconds=0 asks for a short poll whatever the queue says.
    start = time.monotonic()
    assert receive(sqs, url, WaitTimeSeconds=0) == []
    assert time.monotonic() - start < 0.9


def test_delete_message(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="once")
    [m] = receive(sqs, url, VisibilityTimeout=1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    # Deleting again with the same handle is not an error (SQS: idempotent).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1.2)
    assert receive(sqs, url) == []
    assert counts(sqs, url) == (0, 0, 0)


def test_change_visibility_to_zero_makes_it_visible_at_once(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="back")
    [m] = receive(sqs, url, VisibilityTimeout=60)
    assert receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=0)
    [again] = receive(sqs, url, VisibilityTimeout=60)
    assert again["MessageId"] == m["MessageId"]


def test_change_visibility_extends(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="held")
    [m] = receive(sqs, url, VisibilityTimeout=1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=30)
    time.sleep(1.3)
    assert receive(sqs, url) == []


def test_change_visibility_batch(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    got = drain(sqs, url, 3, VisibilityTimeout=60)
    assert len(got) == 3
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": f"c{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
        for i, m in enumerate(got)])
    assert changed.get("Failed", []) == []
    assert sorted(c["Id"] for c in changed["Successful"]) == ["c0", "c1", "c2"]
    assert len(drain(sqs, url, 3)) == 3


def test_purge(sqs):
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    receive(sqs, url, VisibilityTimeout=1)
    sqs.purge_queue(QueueUrl=url)
    assert wait_until(lambda: counts(sqs, url) == (0, 0, 0), timeout=5), counts(sqs, url)
    time.sleep(1.1)
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    # The queue itself stays.
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    assert [m["Body"] for m in receive(sqs, url)] == ["after purge"]


def test_redrive_to_dead_letter_queue(sqs):
    dlq = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = attributes(sqs, dlq, "QueueArn")["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    src = sqs.create_queue(QueueName=unique("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    redrive = json.loads(attributes(sqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 2

    sent = sqs.send_message(QueueUrl=src, MessageBody="poison", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "bad"}})
    sqs.send_message(QueueUrl=src, MessageBody="fine")
    for attempt in (1, 2):
        got = {m["Body"]: m for m in drain(sqs, src, 2 if attempt == 1 else 1,
                                           VisibilityTimeout=1,
                                           AttributeNames=["ApproximateReceiveCount"])}
        assert got["poison"]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        if attempt == 1:
            sqs.delete_message(QueueUrl=src, ReceiptHandle=got["fine"]["ReceiptHandle"])
        time.sleep(1.2)
    # Received maxReceiveCount times and not deleted: the next receive moves it to the DLQ.
    assert receive(sqs, src, MaxNumberOfMessages=10) == []
    assert wait_until(lambda: counts(sqs, dlq)[0] == 1, timeout=5), counts(sqs, dlq)
    [dead] = receive(sqs, dlq, MessageAttributeNames=["All"])
    assert dead["Body"] == "poison"
    assert dead["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert dead["MessageAttributes"]["kind"]["StringValue"] == "bad"
    assert counts(sqs, src) == (0, 0, 0)


def test_redrive_policy_must_name_an_existing_queue(sqs):
    src = unique("src")
    arn = attributes(sqs, sqs.create_queue(QueueName=unique())["QueueUrl"],
                     "QueueArn")["QueueArn"].rsplit(":", 1)[0] + ":" + unique("nope")
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=src, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})
    assert error_code(e) in ("InvalidParameterValue", "AWS.SimpleQueueService.NonExistentQueue")


def test_many_queues_and_messages_keep_apart(sqs):
    urls = [sqs.create_queue(QueueName=unique("apart"))["QueueUrl"] for _ in range(3)]
    for i, url in enumerate(urls):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": f"{i}:{j}"} for j in range(4)])
    for i, url in enumerate(urls):
        assert sorted(m["Body"] for m in drain(sqs, url, 4)) == [f"{i}:{j}" for j in range(4)]


# --- durability -----------------------------------------------------------------------------

def test_sent_messages_survive_sigkill(make_daemon, tmp_path):
    """A message whose SendMessage returned is there after the daemon is killed at once and
    restarted on the same data directory; one that was in flight comes back."""
    data_dir = tmp_path / "durable"
    d = make_daemon(data_dir=data_dir).start()
    sqs = sqs_client(d.endpoint)
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    sqs.create_queue(QueueName="durable-attrs", Attributes={"DelaySeconds": "0"}, tags={"k": "v"})
    bodies = {f"m{i}" for i in range(50)}
    for i in range(0, 50, 10):
        sent = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": f"m{j}",
             "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(j)}}}
            for j in range(i, i + 10)])
        assert sent.get("Failed", []) == []
    in_flight = receive(sqs, url, MaxNumberOfMessages=5)
    assert in_flight
    d.stop(signal.SIGKILL)

    again = make_daemon(data_dir=data_dir).start()
    sqs = sqs_client(again.endpoint)
    url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
    assert attributes(sqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "2"}
    tagged = sqs.get_queue_url(QueueName="durable-attrs")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=tagged)["Tags"] == {"k": "v"}
    got = {}
    deadline = time.time() + 15
    while len(got) < 50 and time.time() < deadline:
        for m in receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                         MessageAttributeNames=["All"]):
            got[m["Body"]] = m
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert set(got) == bodies, sorted(bodies - set(got))
    assert all(m["MessageAttributes"]["n"]["StringValue"] == m["Body"][1:] for m in got.values())
