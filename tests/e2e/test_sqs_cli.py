"""The AWS CLI v2 (Debian's /usr/bin/aws: SQS over the query protocol) against lambent's
SQS-compatible API through --endpoint-url: a user's everyday queue work, and a redrive to a
dead-letter queue. The CLI checks the MD5s of what it sends and receives itself."""

import hashlib
import json
import os
import subprocess
import time

import pytest

from sqs_support import sqs_daemon, unique  # noqa: F401
from test_aws_cli import AWS


class SqsCli:
    def __init__(self, endpoint, home):
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
                   AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_DEFAULT_REGION="us-east-1", AWS_DEFAULT_OUTPUT="json", AWS_PAGER="",
                   AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1")
        self.env = env
        self.endpoint = endpoint

    def run(self, *args, check=True, timeout=60):
        proc = subprocess.run([AWS, "--endpoint-url", self.endpoint, "--cli-read-timeout", "30",
                               "--cli-connect-timeout", "10", "sqs", *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout)
        if check:
            assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def json(self, *args, **kwargs):
        out = self.run(*args, **kwargs).stdout
        return json.loads(out) if out.strip() else {}


@pytest.fixture(scope="module")
def aws(sqs_daemon, tmp_path_factory):
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    return SqsCli(sqs_daemon.endpoint, tmp_path_factory.mktemp("aws-home"))


def test_create_send_receive_change_visibility_delete(aws, tmp_path):
    name = unique("cli")
    url = aws.json("create-queue", "--queue-name", name,
                   "--attributes", "VisibilityTimeout=20,DelaySeconds=0",
                   "--tags", "team=core")["QueueUrl"]
    assert url.endswith("/" + name)
    assert aws.json("get-queue-url", "--queue-name", name)["QueueUrl"] == url

    attrs = tmp_path / "attrs.json"
    attrs.write_text(json.dumps({"colour": {"DataType": "String", "StringValue": "blue"},
                                 "size": {"DataType": "Number", "StringValue": "3"}}))
    body = "hello from the cli ✓"
    sent = aws.json("send-message", "--queue-url", url, "--message-body", body,
                    "--message-attributes", f"file://{attrs}")
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MessageId"]

    a = aws.json("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "1"
    assert a["VisibilityTimeout"] == "20"

    got = aws.json("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                   "--attribute-names", "All", "--message-attribute-names", "All",
                   "--wait-time-seconds", "1", "--visibility-timeout", "60")
    [m] = got["Messages"]
    assert m["Body"] == body and m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"]["colour"] == {"DataType": "String", "StringValue": "blue"}
    assert m["MessageAttributes"]["size"] == {"DataType": "Number", "StringValue": "3"}
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"

    # Visibility 0: back at once, received a second time.
    aws.run("change-message-visibility", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"],
            "--visibility-timeout", "0")
    [again] = aws.json("receive-message", "--queue-url", url, "--attribute-names", "All")["Messages"]
    assert again["MessageId"] == m["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"

    aws.run("delete-message", "--queue-url", url, "--receipt-handle", again["ReceiptHandle"])
    a = aws.json("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert (a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    bad = aws.run("delete-message", "--queue-url", url, "--receipt-handle", "garbage", check=False)
    assert bad.returncode != 0 and "ReceiptHandleIsInvalid" in bad.stderr, bad.stderr


def test_batch_purge_and_delete_queue(aws, tmp_path):
    name = unique("cli")
    url = aws.json("create-queue", "--queue-name", name)["QueueUrl"]
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps([{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)]))
    sent = aws.json("send-message-batch", "--queue-url", url, "--entries", f"file://{entries}")
    assert sorted(s["Id"] for s in sent["Successful"]) == [str(i) for i in range(5)]
    aws.run("purge-queue", "--queue-url", url)
    assert aws.json("receive-message", "--queue-url", url,
                    "--max-number-of-messages", "10").get("Messages", []) == []
    aws.run("delete-queue", "--queue-url", url)
    missing = aws.run("get-queue-url", "--queue-name", name, check=False)
    assert missing.returncode != 0
    assert "NonExistentQueue" in missing.stderr or "QueueDoesNotExist" in missing.stderr, missing.stderr


def test_redrive_to_a_dead_letter_queue(aws, tmp_path):
    dlq = aws.json("create-queue", "--queue-name", unique("cli-dlq"))["QueueUrl"]
    arn = aws.json("get-queue-attributes", "--queue-url", dlq,
                   "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    attrs = tmp_path / "src-attrs.json"
    attrs.write_text(json.dumps({"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": "1"})}))
    src = aws.json("create-queue", "--queue-name", unique("cli-src"),
                   "--attributes", f"file://{attrs}")["QueueUrl"]
    aws.run("send-message", "--queue-url", src, "--message-body", "poison pill")
    [m] = aws.json("receive-message", "--queue-url", src, "--visibility-timeout", "1")["Messages"]
    assert m["Body"] == "poison pill"
    time.sleep(1.2)
    # Received maxReceiveCount (1) times without a delete: it moves to the DLQ.
    assert aws.json("receive-message", "--queue-url", src).get("Messages", []) == []
    dead = aws.json("receive-message", "--queue-url", dlq, "--wait-time-seconds", "2",
                    "--attribute-names", "All")["Messages"]
    assert [d["Body"] for d in dead] == ["poison pill"]
