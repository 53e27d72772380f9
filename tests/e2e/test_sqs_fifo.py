"""FIFO queues through boto3 (the query protocol), as SQS documents them: a `.fifo` name with
FifoQueue=true, MessageGroupId required and ordered within its group, a group held back while
one of its messages is in flight, deduplication by MessageDeduplicationId or by content within
5 minutes, SequenceNumber, and FIFO's own refusals."""

import hashlib
import json
import time

import pytest

from sqs_support import sqs_client, sqs_daemon, unique  # noqa: F401

from botocore.exceptions import ClientError  # noqa: E402


@pytest.fixture(scope="module")
def sqs(sqs_daemon):
    return sqs_client(sqs_daemon.endpoint)


def fifo(sqs, content_dedup=False, **attributes):
    attrs = {"FifoQueue": "true", **attributes}
    if content_dedup:
        attrs["ContentBasedDeduplication"] = "true"
    return sqs.create_queue(QueueName=unique("fifo") + ".fifo", Attributes=attrs)["QueueUrl"]


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


def receive(sqs, url, **kwargs):
    return sqs.receive_message(QueueUrl=url, AttributeNames=["All"], **kwargs).get("Messages", [])


def test_create_and_attributes(sqs):
    url = fifo(sqs)
    assert url.endswith(".fifo")
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["FifoQueue"] == "true"
    assert a["ContentBasedDeduplication"] == "false"
    assert a["QueueArn"].endswith(".fifo")
    url2 = fifo(sqs, content_dedup=True)
    a = sqs.get_queue_attributes(QueueUrl=url2, AttributeNames=["ContentBasedDeduplication"])["Attributes"]
    assert a == {"ContentBasedDeduplication": "true"}
    # Idempotent like any CreateQueue.
    name = url.rsplit("/", 1)[1]
    assert sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"] == url


def test_names_and_fifo_attribute_must_agree(sqs):
    for name, attrs in ((unique("plain"), {"FifoQueue": "true"}),
                        (unique("named") + ".fifo", {}),
                        (unique("named") + ".fifo", {"FifoQueue": "false"}),
                        (unique("cbd"), {"ContentBasedDeduplication": "true"})):
        code, message = code_of(lambda: sqs.create_queue(QueueName=name, Attributes=attrs))
        assert code in ("InvalidParameterValue", "InvalidAttributeValue", "InvalidAttributeName"), \
            (name, attrs, code)
        assert message, (name, attrs)
    # FifoQueue is fixed at creation.
    url = fifo(sqs)
    code, _ = code_of(lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"}))
    assert code in ("InvalidAttributeName", "InvalidAttributeValue", "InvalidParameterValue"), code


def test_send_needs_a_group_and_a_deduplication_id(sqs):
    url = fifo(sqs)
    code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"))
    assert code == "MissingParameter", code
    # No content-based deduplication on the queue: an explicit id is required.
    code, message = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g"))
    assert code == "InvalidParameterValue", code
    # Per-message delays are a standard-queue feature.
    code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g",
                                               MessageDeduplicationId="d", DelaySeconds=1))
    assert code == "InvalidParameterValue", code
    assert receive(sqs, url) == []


def test_a_standard_queue_refuses_deduplication_ids(sqs):
    url = sqs.create_queue(QueueName=unique("std"))["QueueUrl"]
    code, _ = code_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"))
    assert code == "InvalidParameterValue", code


def test_order_within_a_group_and_sequence_numbers(sqs):
    url = fifo(sqs)
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g",
                             MessageDeduplicationId=f"d{i}") for i in range(6)]
    sequence = [int(s["SequenceNumber"]) for s in sent]
    assert sequence == sorted(sequence) and len(set(sequence)) == 6, sequence
    got = []
    deadline = time.time() + 10
    while len(got) < 6 and time.time() < deadline:
        batch = receive(sqs, url, MaxNumberOfMessages=10)
        got += batch
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(6)]
    for m, s in zip(got, sent):
        assert m["MessageId"] == s["MessageId"]
        assert m["Attributes"]["MessageGroupId"] == "g"
        assert m["Attributes"]["SequenceNumber"] == s["SequenceNumber"]
        assert m["Attributes"]["MessageDeduplicationId"].startswith("d")


def test_a_group_waits_while_its_message_is_in_flight(sqs):
    url = fifo(sqs)
    for body, group in (("a1", "A"), ("a2", "A"), ("b1", "B")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    [first] = receive(sqs, url, MaxNumberOfMessages=1, VisibilityTimeout=30)
    rest = receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    if first["Body"] == "a1":
        # Group A is held while a1 is in flight; B is free.
        assert [m["Body"] for m in rest] == ["b1"]
    else:
        assert first["Body"] == "b1"
        assert [m["Body"] for m in rest] == ["a1", "a2"]
        return
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["a2"]


def test_a_group_comes_back_in_order_when_its_message_is_not_deleted(sqs):
    url = fifo(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=str(i))
    [m0] = receive(sqs, url, MaxNumberOfMessages=1, VisibilityTimeout=1)
    assert m0["Body"] == "m0"
    time.sleep(1.2)
    again = receive(sqs, url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in again] == ["m0", "m1", "m2"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_deduplication_id(sqs):
    url = fifo(sqs)
    first = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="same")
    second = sqs.send_message(QueueUrl=url, MessageBody="once again", MessageGroupId="g",
                              MessageDeduplicationId="same")
    assert second["MessageId"] == first["MessageId"]
    got = receive(sqs, url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in got] == ["once"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    # Still within the 5-minute window after the delete: accepted, not delivered.
    third = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="same")
    assert third["MessageId"] == first["MessageId"]
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    other = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="other")
    assert other["MessageId"] != first["MessageId"]
    assert [m["Body"] for m in receive(sqs, url, MaxNumberOfMessages=10)] == ["once"]


def test_content_based_deduplication(sqs):
    url = fifo(sqs, content_dedup=True)
    a = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    c = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"] != c["MessageId"]
    got = receive(sqs, url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in got] == ["same body", "other body"]
    # The deduplication id SQS derives is the body's SHA-256.
    assert got[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()
    # An explicit id wins over the content.
    d = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g", MessageDeduplicationId="x")
    assert d["MessageId"] != a["MessageId"]


def test_send_batch_keeps_order(sqs):
    url = fifo(sqs)
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"b{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"b{i}"}
        for i in range(5)])
    assert sent.get("Failed", []) == []
    assert all(s.get("SequenceNumber") for s in sent["Successful"])
    got = receive(sqs, url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in got] == [f"b{i}" for i in range(5)]
    # An entry without its group fails (alone, or the whole batch with MissingParameter).
    try:
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "ok", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "ok"},
            {"Id": "bad", "MessageBody": "x", "MessageDeduplicationId": "bad"}])
        assert [s["Id"] for s in answer["Successful"]] == ["ok"]
        assert [f["Id"] for f in answer["Failed"]] == ["bad"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "MissingParameter", e.response


def test_dead_letter_queue_of_a_fifo_queue(sqs):
    standard = sqs.create_queue(QueueName=unique("std"))["QueueUrl"]
    std_arn = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    code, _ = code_of(lambda: sqs.create_queue(
        QueueName=unique("src") + ".fifo",
        Attributes={"FifoQueue": "true", "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": std_arn, "maxReceiveCount": "1"})}))
    assert code in ("InvalidParameterValue", "InvalidAttributeValue"), code

    dlq = fifo(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = fifo(sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}))
    sqs.send_message(QueueUrl=src, MessageBody="poison", MessageGroupId="g", MessageDeduplicationId="p")
    sqs.send_message(QueueUrl=src, MessageBody="next", MessageGroupId="g", MessageDeduplicationId="n")
    [m] = receive(sqs, src, MaxNumberOfMessages=1, VisibilityTimeout=1)
    assert m["Body"] == "poison"
    time.sleep(1.2)
    # poison moves to the DLQ; the group goes on with the next message.
    got = receive(sqs, src, MaxNumberOfMessages=10) or receive(sqs, src, MaxNumberOfMessages=10)
    assert [x["Body"] for x in got] == ["next"]
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2, AttributeNames=["All"]).get("Messages", [])
    assert [x["Body"] for x in dead] == ["poison"]
    assert dead[0]["Attributes"]["MessageGroupId"] == "g"
