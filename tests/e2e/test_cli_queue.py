"""`lambent queue`: create, ls, send, read, purge, rm and stats against a real daemon, the
way a user types them, with what they print and their exit codes (0 ok, 1 the request
failed, 2 usage or an unreachable daemon)."""

import json
import os
import subprocess
import time

import pytest

from conftest import free_port
from sqs_support import sqs_client, sqs_daemon, unique  # noqa: F401

ACTIONS = ("create", "ls", "send", "read", "purge", "rm", "stats")


@pytest.fixture(scope="module")
def cli(sqs_daemon):
    def run(*args, code=0, input=None):
        proc = sqs_daemon.cli("queue", *args, input=input)
        if code is not None:
            assert proc.returncode == code, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc
    return run


def test_help_for_every_action(cli):
    out = cli("--help").stdout
    for action in ACTIONS:
        assert action in out
    for action in ACTIONS:
        proc = cli(action, "--help")
        assert "Usage" in proc.stdout or "usage" in proc.stdout.lower(), proc.stdout
    assert "--visibility-timeout" in cli("create", "--help").stdout
    assert "--dlq" in cli("create", "--help").stdout
    assert "--wait" in cli("read", "--help").stdout and "--keep" in cli("read", "--help").stdout
    # No action: usage, exit 2.
    proc = cli(code=2)
    assert proc.stderr


def test_create_send_read_and_rm(cli, sqs_daemon):
    name = unique("cliq")
    out = cli("create", name, "--visibility-timeout", "45", "--retention", "3600").stdout
    assert name in out and "created" in out
    # Creating it again with the same settings is fine.
    cli("create", name, "--visibility-timeout", "45", "--retention", "3600")
    stats = cli("stats", name).stdout
    assert "45s" in stats and "1h" in stats, stats
    message_id = cli("send", name, "hello queue").stdout.strip()
    assert len(message_id) >= 16
    cli("send", name, "-", input="from stdin\nwith two lines")
    listing = cli("ls").stdout
    row = next(line for line in listing.splitlines() if line.startswith(name))
    assert row.split()[1:4] == ["2", "0", "0"], listing
    out = cli("read", name, "--max", "10").stdout
    assert out == "hello queue\nfrom stdin\nwith two lines\n" or \
        out == "from stdin\nwith two lines\nhello queue\n", out
    # Read means consumed.
    assert json.loads(cli("stats", name, "--json").stdout)["Attributes"]["ApproximateNumberOfMessages"] == "0"
    proc = cli("read", name)
    assert proc.stdout == "" and "no messages" in proc.stderr
    # A body piped from `echo` keeps its newline, and read does not add a blank line.
    cli("send", name, "-", input="piped\n")
    assert cli("read", name).stdout == "piped\n"
    assert json.loads(cli("read", name, "--json").stdout) == []
    cli("rm", name)
    assert name not in cli("ls").stdout


def test_attributes_json_and_keep(cli, sqs_daemon):
    name = unique("cliq")
    cli("create", name)
    cli("send", name, "payload", "--attr", "kind=order", "--attr", "region=eu")
    [m] = json.loads(cli("read", name, "--keep", "--json").stdout)
    assert m["Body"] == "payload"
    assert m["MessageAttributes"]["kind"] == {"DataType": "String", "StringValue": "order"}
    assert m["MessageAttributes"]["region"]["StringValue"] == "eu"
    assert m["MessageId"] and m["ReceiptHandle"]
    a = json.loads(cli("stats", name, "--json").stdout)["Attributes"]
    assert a["ApproximateNumberOfMessagesNotVisible"] == "1"
    # What the CLI sent, boto3 reads the same (attributes included, MD5s checked).
    sqs = sqs_client(sqs_daemon.endpoint)
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    cli("send", name, "second", "--attr", "k=v")
    [got] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert got["Body"] == "second" and got["MessageAttributes"]["k"]["StringValue"] == "v"


def test_read_more_than_ten_and_purge(cli, sqs_daemon):
    name = unique("cliq")
    cli("create", name)
    sqs = sqs_client(sqs_daemon.endpoint)
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    for batch in range(2):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"m{batch * 10 + i}"} for i in range(10)])
    lines = cli("read", name, "--max", "12").stdout.splitlines()
    assert len(lines) == 12 and len(set(lines)) == 12, lines
    out = cli("purge", name).stdout
    assert "purged" in out
    assert cli("read", name, "--max", "20").stdout == ""


def test_read_waits_for_a_message(cli):
    name = unique("cliq")
    cli("create", name)
    start = time.monotonic()
    proc = cli("read", name, "--wait", "1")
    assert 0.9 <= time.monotonic() - start < 4
    assert proc.stdout == ""


def test_dead_letter_queue(cli):
    dlq, src = unique("cli-dlq"), unique("cli-src")
    proc = cli("create", src, "--dlq", dlq, code=1)
    assert "no queue named" in proc.stderr and dlq in proc.stderr, proc.stderr
    cli("create", dlq)
    out = cli("create", src, "--dlq", dlq, "--max-receive-count", "1", "--visibility-timeout", "1").stdout
    assert dlq in out
    assert dlq in cli("stats", src).stdout
    row = next(line for line in cli("ls").stdout.splitlines() if line.startswith(src))
    assert row.split()[-1] == dlq, row
    cli("send", src, "poison")
    assert cli("read", src, "--keep").stdout == "poison\n"
    time.sleep(1.2)
    assert cli("read", src).stdout == ""
    assert cli("read", dlq, "--wait", "2").stdout == "poison\n"


def test_friendly_errors(cli, sqs_daemon):
    missing = unique("nope")
    for args in (("send", missing, "x"), ("read", missing), ("purge", missing), ("rm", missing),
                 ("stats", missing)):
        proc = cli(*args, code=1)
        assert f"there is no queue named {missing}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    proc = cli("create", "bad name!", code=1)
    assert proc.stderr.startswith("lambent: "), proc.stderr
    cli("create", unique(), "--content-dedup", code=2)
    cli("create", unique(), "--max-receive-count", "2", code=2)
    cli("create", unique(), "--visibility-timeout", "99999", code=2)
    cli("read", unique(), "--wait", "21", code=2)
    cli("read", unique(), "--keep", "--delete", code=2)
    name = unique("cliq")
    cli("create", name)
    proc = cli("send", name, "--attr", "novalue", "body", code=2)
    assert "KEY=VALUE" in proc.stderr
    proc = cli("send", name, "-", input="", code=2)
    assert "empty" in proc.stderr
    big = cli("send", name, "-", input="a" * 262145, code=1)
    assert big.stderr.startswith("lambent: ") and "InvalidParameterValue" in big.stderr, big.stderr


def test_unreachable_daemon(sqs_daemon):
    env = dict(os.environ, LAMBENT_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    proc = subprocess.run([str(sqs_daemon.bin_dir / "lambent"), "queue", "ls"], capture_output=True,
                          text=True, env=env, timeout=30)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "cannot reach the daemon" in proc.stderr


def test_fifo_queue(cli):
    name = unique("cli") + ".fifo"
    assert "created" in cli("create", name).stdout
    assert json.loads(cli("stats", name, "--json").stdout)["Attributes"]["FifoQueue"] == "true"
    for i in range(3):
        cli("send", name, f"m{i}", "--group", "orders")
    cli("send", name, "same", "--dedup-id", "d1")
    cli("send", name, "same again", "--dedup-id", "d1")  # dropped: same id within 5 minutes
    cli("send", name, "m0")  # a plain send is a new message each time
    lines = cli("read", name, "--max", "10").stdout.splitlines()
    assert [line for line in lines if line.startswith("m")][:3] == ["m0", "m1", "m2"], lines
    assert sorted(lines) == sorted(["m0", "m1", "m2", "same", "m0"]), lines

    deduped = unique("cli") + ".fifo"
    cli("create", deduped, "--content-dedup")
    cli("send", deduped, "twice")
    cli("send", deduped, "twice")
    [m] = json.loads(cli("read", deduped, "--max", "10", "--json").stdout)
    assert m["Body"] == "twice" and m["Attributes"]["SequenceNumber"]
