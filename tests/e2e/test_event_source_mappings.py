"""Event source mappings of lambent's SQS-compatible queues, driven by the AWS CLI and boto3
as against Lambda: a mapping drains its queue in batches through the function (checked by
the function's own records in its log), redelivers only what a partial batch failure names,
leaves poison messages to the queue's redrive policy, and goes through Lambda's states."""

import json
import re
import signal
import time
from collections import Counter

import pytest

from conftest import wait_until
from lambda_clients import ClientError, aws_cli, create_function, error_of, lambda_client
from sqs_support import sqs_client

ACCOUNT = "000000000000"
REGION = "us-east-1"

# Logs one line per record it gets ("ESM-RECORD <messageId> <receive count> <body>") and one
# per batch. A body "fail-once" is reported as a batch item failure at its first receive; a
# body "poison" fails the whole batch (an exception); a body "slow" holds the batch a while.
RECORDER = """
import json
import time

def handler(event, context):
    records = event["Records"]
    print(f"ESM-BATCH {context.aws_request_id} {len(records)} {time.time():.3f}", flush=True)
    failures = []
    for r in records:
        count = r["attributes"]["ApproximateReceiveCount"]
        print(f"ESM-RECORD {r['messageId']} {count} {r['body']}", flush=True)
        if r["body"] == "poison":
            raise Exception("poison message")
        if r["body"] == "fail-once" and count == "1":
            failures.append({"itemIdentifier": r["messageId"]})
        if r["body"] == "slow":
            time.sleep(0.5)
    print(f"ESM-END {context.aws_request_id} {time.time():.3f}", flush=True)
    if records and records[0]["body"] == "show-event":
        print("ESM-EVENT " + json.dumps(event), flush=True)
    return {"batchItemFailures": failures}
"""


def queue_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def function_log(daemon, name, tail=50000):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs?tail={tail}")
    assert status == 200, body
    return body.decode(errors="replace")


def records_of(daemon, name):
    """[(messageId, receive count, body)] in the order the function saw them."""
    return [(m, int(c), b) for m, c, b in
            re.findall(r"ESM-RECORD (\S+) (\d+) (.*)", function_log(daemon, name))]


def batch_sizes(daemon, name):
    return [int(n) for n in re.findall(r"ESM-BATCH \S+ (\d+) ", function_log(daemon, name))]


def send_all(sqs, url, bodies):
    """SendMessageBatch in tens; the message ids in order."""
    ids = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        answer = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)])
        assert not answer.get("Failed"), answer
        by_entry = {e["Id"]: e["MessageId"] for e in answer["Successful"]}
        ids.extend(by_entry[str(i)] for i in range(len(chunk)))
    return ids


def queue_counts(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def warm_up(client, name):
    """One warm environment for `name`, so that no batch waits for a cold start longer than a
    test queue's short visibility timeout (which would rightly deliver it again)."""
    answer = client.invoke(FunctionName=name, Payload=json.dumps({"Records": []}).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer, answer


def state_of(client, uuid):
    return client.get_event_source_mapping(UUID=uuid)["State"]


@pytest.fixture
def clients(daemon):
    return lambda_client(daemon), sqs_client(daemon.endpoint)


def test_the_aws_cli_creates_disables_enables_and_deletes_a_mapping(daemon, tmp_path, clients):
    client, sqs = clients
    aws = aws_cli(daemon, tmp_path)
    create_function(client, "esm-cli", source=RECORDER)
    sqs.create_queue(QueueName="esm-cli-q")
    created = aws.json("create-event-source-mapping", "--function-name", "esm-cli",
                       "--event-source-arn", queue_arn("esm-cli-q"), "--batch-size", "5",
                       "--scaling-config", "MaximumConcurrency=2")
    uuid = created["UUID"]
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["EventSourceArn"] == queue_arn("esm-cli-q")
    assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:esm-cli"
    assert created["BatchSize"] == 5
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert created["FunctionResponseTypes"] == []
    assert created["LastModified"].startswith(time.strftime("%Y-%m-%d", time.gmtime()))
    assert wait_until(lambda: state_of(client, uuid) == "Enabled", timeout=5)

    listed = aws.json("list-event-source-mappings", "--function-name", "esm-cli")
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [uuid]

    disabled = aws.json("update-event-source-mapping", "--uuid", uuid, "--no-enabled")
    assert disabled["State"] == "Disabling"
    assert wait_until(lambda: state_of(client, uuid) == "Disabled", timeout=5)
    [message_id] = send_all(sqs, sqs.get_queue_url(QueueName="esm-cli-q")["QueueUrl"], ["while-off"])
    time.sleep(1)
    assert not records_of(daemon, "esm-cli"), "a disabled mapping ran its function"

    enabled = aws.json("update-event-source-mapping", "--uuid", uuid, "--enabled")
    assert enabled["State"] == "Enabling"
    assert wait_until(lambda: state_of(client, uuid) == "Enabled", timeout=5)
    assert wait_until(lambda: [r[0] for r in records_of(daemon, "esm-cli")] == [message_id],
                      timeout=30), function_log(daemon, "esm-cli")

    deleted = aws.json("delete-event-source-mapping", "--uuid", uuid)
    assert deleted["State"] == "Deleting"
    assert wait_until(lambda: aws.run("get-event-source-mapping", "--uuid", uuid,
                                      check=False).returncode != 0, timeout=5)
    gone = aws.run("get-event-source-mapping", "--uuid", uuid, check=False)
    assert "ResourceNotFoundException" in gone.stderr, gone.stderr


def test_a_mapping_drains_1000_messages_in_batches_each_once(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-drain", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-drain-q")["QueueUrl"]
    ids = send_all(sqs, url, [f"message {i}" for i in range(1000)])
    started = time.time()
    mapping = client.create_event_source_mapping(FunctionName="esm-drain",
                                                 EventSourceArn=queue_arn("esm-drain-q"),
                                                 BatchSize=10)
    assert mapping["State"] == "Creating"
    assert wait_until(lambda: len(records_of(daemon, "esm-drain")) >= 1000, timeout=120), (
        len(records_of(daemon, "esm-drain")), daemon.log()[-3000:])
    elapsed = time.time() - started
    time.sleep(1)  # a second delivery of any of them would show by now
    seen = records_of(daemon, "esm-drain")
    assert Counter(m for m, _, _ in seen) == Counter(ids), "a message ran twice, or went missing"
    sizes = batch_sizes(daemon, "esm-drain")
    assert sum(sizes) == 1000 and max(sizes) <= 10 and len(sizes) >= 100
    assert wait_until(lambda: queue_counts(sqs, url) == (0, 0), timeout=10), queue_counts(sqs, url)
    print(f"1000 messages in {len(sizes)} batches, drained in {elapsed:.2f} s")


def test_the_event_is_lambdas_sqs_event(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-shape", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-shape-q")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="show-event", MessageAttributes={
        "Color": {"DataType": "String", "StringValue": "blue"},
        "Raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    client.create_event_source_mapping(FunctionName="esm-shape",
                                       EventSourceArn=queue_arn("esm-shape-q"))
    assert wait_until(lambda: "ESM-EVENT" in function_log(daemon, "esm-shape"), timeout=30)
    line = re.search(r"ESM-EVENT (.*)", function_log(daemon, "esm-shape")).group(1)
    [record] = json.loads(line)["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == "show-event"
    assert record["receiptHandle"]
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn("esm-shape-q")
    assert record["awsRegion"] == REGION
    assert set(record["attributes"]) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"}
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["Color"] == {
        "stringValue": "blue", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    assert record["messageAttributes"]["Raw"]["binaryValue"] == "AAE="
    assert record["messageAttributes"]["Raw"]["dataType"] == "Binary"


def test_a_partial_batch_failure_redelivers_only_the_failed_messages(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-partial", source=RECORDER)
    warm_up(client, "esm-partial")
    url = sqs.create_queue(QueueName="esm-partial-q",
                           Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    bodies = ["ok"] * 7 + ["fail-once"] * 3
    ids = send_all(sqs, url, bodies)
    failing = {i for i, b in zip(ids, bodies) if b == "fail-once"}
    client.create_event_source_mapping(FunctionName="esm-partial",
                                       EventSourceArn=queue_arn("esm-partial-q"), BatchSize=10,
                                       FunctionResponseTypes=["ReportBatchItemFailures"])
    assert wait_until(lambda: len(records_of(daemon, "esm-partial")) >= 13, timeout=30), \
        function_log(daemon, "esm-partial")
    time.sleep(2.5)  # past the visibility timeout: anything left would be back
    seen = Counter(m for m, _, _ in records_of(daemon, "esm-partial"))
    assert {m for m, n in seen.items() if n == 2} == failing
    assert {m for m, n in seen.items() if n == 1} == set(ids) - failing
    assert queue_counts(sqs, url) == (0, 0)


def test_poison_messages_end_in_the_queues_dead_letter_queue(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-poison", source=RECORDER)
    # One batch at a time (the mapping keeps within the reservation), on a warm environment.
    client.put_function_concurrency(FunctionName="esm-poison", ReservedConcurrentExecutions=1)
    warm_up(client, "esm-poison")
    dlq_url = sqs.create_queue(QueueName="esm-poison-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="esm-poison-q", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn("esm-poison-dlq"),
                                     "maxReceiveCount": "2"})})["QueueUrl"]
    ids = send_all(sqs, url, ["ok", "poison", "ok", "poison", "ok"])
    poison = {ids[1], ids[3]}
    client.create_event_source_mapping(FunctionName="esm-poison",
                                       EventSourceArn=queue_arn("esm-poison-q"), BatchSize=1)
    moved = {}

    def dead_letters():
        for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            moved[m["MessageId"]] = m["Body"]
        return set(moved) == poison

    assert wait_until(dead_letters, timeout=30), (moved, function_log(daemon, "esm-poison"))
    assert set(moved.values()) == {"poison"}
    seen = Counter(m for m, _, _ in records_of(daemon, "esm-poison"))
    assert all(seen[m] == 1 for m in set(ids) - poison), seen
    assert all(seen[m] == 2 for m in poison), seen
    assert queue_counts(sqs, url) == (0, 0)


def test_maximum_concurrency_bounds_the_batches_in_flight(daemon, tmp_path, clients):
    client, sqs = clients
    create_function(client, "esm-bounded", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-bounded-q")["QueueUrl"]
    send_all(sqs, url, ["slow"] * 12)
    # boto3 1.29's model predates ScalingConfig: the AWS CLI sets it.
    aws_cli(daemon, tmp_path).json("create-event-source-mapping", "--function-name", "esm-bounded",
                                   "--event-source-arn", queue_arn("esm-bounded-q"),
                                   "--batch-size", "1", "--scaling-config", "MaximumConcurrency=2")
    assert wait_until(lambda: function_log(daemon, "esm-bounded").count("ESM-END") >= 12,
                      timeout=60), function_log(daemon, "esm-bounded")
    log = function_log(daemon, "esm-bounded")
    starts = {rid: float(t) for rid, t in re.findall(r"ESM-BATCH (\S+) \d+ ([\d.]+)", log)}
    ends = {rid: float(t) for rid, t in re.findall(r"ESM-END (\S+) ([\d.]+)", log)}
    events = sorted([(t, 1) for t in starts.values()] + [(t, -1) for t in ends.values()],
                    key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak <= 2, f"{peak} batches ran at once"


def test_refusals_are_lambdas(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-refusals", source=RECORDER)
    sqs.create_queue(QueueName="esm-refusals-q")
    arn = queue_arn("esm-refusals-q")
    status, code, message = error_of(client.create_event_source_mapping, FunctionName="nope",
                                     EventSourceArn=arn)
    assert (status, code) == (404, "ResourceNotFoundException"), message
    assert message == f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope"
    for source in (queue_arn("no-such-queue"), f"arn:aws:sqs:{REGION}:111111111111:esm-refusals-q",
                   f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s"):
        status, code, message = error_of(client.create_event_source_mapping,
                                         FunctionName="esm-refusals", EventSourceArn=source)
        assert (status, code) == (400, "InvalidParameterValueException"), (source, message)
    status, code, message = error_of(client.create_event_source_mapping,
                                     FunctionName="esm-refusals", EventSourceArn=arn, BatchSize=11)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "Maximum batch window in seconds must be greater than 0" in message
    uuid = client.create_event_source_mapping(FunctionName="esm-refusals", EventSourceArn=arn,
                                              BatchSize=100,
                                              MaximumBatchingWindowInSeconds=1)["UUID"]
    status, code, message = error_of(client.create_event_source_mapping,
                                     FunctionName="esm-refusals", EventSourceArn=arn)
    assert (status, code) == (409, "ResourceConflictException")
    assert uuid in message
    status, code, _ = error_of(client.get_event_source_mapping,
                               UUID="00000000-0000-0000-0000-000000000000")
    assert (status, code) == (404, "ResourceNotFoundException")
    status, code, _ = error_of(client.update_event_source_mapping, UUID=uuid,
                               MaximumBatchingWindowInSeconds=0)
    assert (status, code) == (400, "InvalidParameterValueException")
    status, code, _ = error_of(client.create_event_source_mapping, FunctionName="esm-refusals",
                               EventSourceArn=arn, StartingPosition="LATEST")
    assert (status, code) == (400, "InvalidParameterValueException")
    # Still serving, and the mapping as it was.
    assert client.get_event_source_mapping(UUID=uuid)["BatchSize"] == 100


def test_filter_criteria_run_only_matching_messages_and_delete_the_rest(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-filter", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-filter-q")["QueueUrl"]
    pattern = json.dumps({"body": {"kind": ["order"]}})
    mapping = client.create_event_source_mapping(
        FunctionName="esm-filter", EventSourceArn=queue_arn("esm-filter-q"),
        FilterCriteria={"Filters": [{"Pattern": pattern}]})
    assert mapping["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    ids = send_all(sqs, url, [json.dumps({"kind": "order"}), json.dumps({"kind": "refund"}),
                              "not json"])
    assert wait_until(lambda: queue_counts(sqs, url) == (0, 0), timeout=30)
    time.sleep(0.5)
    assert [m for m, _, _ in records_of(daemon, "esm-filter")] == [ids[0]]
    status, code, message = error_of(client.create_event_source_mapping, FunctionName="esm-filter",
                                     EventSourceArn=queue_arn("esm-filter-q"),
                                     FilterCriteria={"Filters": [{"Pattern": "{not json"}]})
    assert (status, code, message) == (400, "InvalidParameterValueException",
                                       "Invalid filter pattern definition.")


def test_mappings_survive_a_restart_and_outlive_their_function(make_daemon, tmp_path):
    data_dir = tmp_path / "kept"
    first = make_daemon(data_dir=data_dir).start()
    client, sqs = lambda_client(first), sqs_client(first.endpoint)
    create_function(client, "esm-kept", source=RECORDER)
    sqs.create_queue(QueueName="esm-kept-q")
    uuid = client.create_event_source_mapping(FunctionName="esm-kept",
                                              EventSourceArn=queue_arn("esm-kept-q"),
                                              BatchSize=7, Enabled=False)["UUID"]
    assert wait_until(lambda: state_of(client, uuid) == "Disabled", timeout=5)
    first.stop()

    second = make_daemon(data_dir=data_dir).start()
    client, sqs = lambda_client(second), sqs_client(second.endpoint)
    mapping = client.get_event_source_mapping(UUID=uuid)
    assert (mapping["State"], mapping["BatchSize"]) == ("Disabled", 7)
    client.update_event_source_mapping(UUID=uuid, Enabled=True)
    url = sqs.get_queue_url(QueueName="esm-kept-q")["QueueUrl"]
    [first_id] = send_all(sqs, url, ["after restart"])
    assert wait_until(lambda: [r[0] for r in records_of(second, "esm-kept")] == [first_id],
                      timeout=30)

    # Lambda keeps a deleted function's mappings: this one waits, its messages kept.
    client.delete_function(FunctionName="esm-kept")
    send_all(sqs, url, ["while gone"])
    assert wait_until(lambda: client.get_event_source_mapping(UUID=uuid).get(
        "LastProcessingResult") == "PROBLEM: Function not found.", timeout=10)
    assert queue_counts(sqs, url)[0] == 1
    create_function(client, "esm-kept", source=RECORDER)
    assert wait_until(lambda: queue_counts(sqs, url) == (0, 0), timeout=30)


def test_a_fifo_queue_runs_each_group_in_order(daemon, clients):
    client, sqs = clients
    create_function(client, "esm-fifo", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-fifo-q.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sent = {g: [] for g in ("a", "b", "c")}
    for i in range(30):
        group = "abc"[i % 3]
        body = f"{group}-{i}"
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        sent[group].append(body)
    status, code, _ = error_of(client.create_event_source_mapping, FunctionName="esm-fifo",
                               EventSourceArn=queue_arn("esm-fifo-q.fifo"), BatchSize=20,
                               MaximumBatchingWindowInSeconds=1)
    assert (status, code) == (400, "InvalidParameterValueException")
    client.create_event_source_mapping(FunctionName="esm-fifo",
                                       EventSourceArn=queue_arn("esm-fifo-q.fifo"), BatchSize=4)
    assert wait_until(lambda: len(records_of(daemon, "esm-fifo")) >= 30, timeout=60)
    seen = [body for _, _, body in records_of(daemon, "esm-fifo")]
    for group, bodies in sent.items():
        assert [b for b in seen if b.startswith(group + "-")] == bodies
    assert wait_until(lambda: queue_counts(sqs, url) == (0, 0), timeout=10)


def test_batches_cut_short_by_a_sigkill_run_again_after_the_restart(make_daemon, tmp_path):
    data_dir = tmp_path / "killed"
    first = make_daemon(data_dir=data_dir).start()
    client, sqs = lambda_client(first), sqs_client(first.endpoint)
    create_function(client, "esm-killed", source=RECORDER)
    url = sqs.create_queue(QueueName="esm-killed-q")["QueueUrl"]
    ids = send_all(sqs, url, ["slow"] * 20)
    client.create_event_source_mapping(FunctionName="esm-killed",
                                       EventSourceArn=queue_arn("esm-killed-q"), BatchSize=2)
    assert wait_until(lambda: records_of(first, "esm-killed"), timeout=30)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()

    # Leases end with the daemon: what was running is visible again, and a message leaves
    # the queue only once a batch holding it succeeded.
    second = make_daemon(data_dir=data_dir).start()
    sqs = sqs_client(second.endpoint)
    assert wait_until(lambda: queue_counts(sqs, url) == (0, 0), timeout=60), queue_counts(sqs, url)
    seen = {m for m, _, _ in records_of(second, "esm-killed")}
    assert seen >= set(ids), f"{len(set(ids) - seen)} of 20 never ran"


def test_list_filters_and_pages_and_an_update_goes_through_updating(daemon, clients):
    client, sqs = clients
    sqs.create_queue(QueueName="esm-list-q")
    sqs.create_queue(QueueName="esm-list-other")
    uuids = set()
    for name in ("esm-list-a", "esm-list-b", "esm-list-c"):
        create_function(client, name, source=RECORDER)
        uuids.add(client.create_event_source_mapping(
            FunctionName=name, EventSourceArn=queue_arn("esm-list-q"), Enabled=False)["UUID"])
    other = client.create_event_source_mapping(FunctionName="esm-list-a",
                                               EventSourceArn=queue_arn("esm-list-other"),
                                               Enabled=False)["UUID"]
    first = client.list_event_source_mappings(EventSourceArn=queue_arn("esm-list-q"), MaxItems=2)
    assert len(first["EventSourceMappings"]) == 2 and first["NextMarker"]
    rest = client.list_event_source_mappings(EventSourceArn=queue_arn("esm-list-q"),
                                             Marker=first["NextMarker"])
    assert "NextMarker" not in rest
    assert {m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]} == uuids
    by_function = client.list_event_source_mappings(FunctionName="esm-list-a")["EventSourceMappings"]
    assert len(by_function) == 2 and other in {m["UUID"] for m in by_function}
    updated = client.update_event_source_mapping(UUID=other, BatchSize=3,
                                                 FunctionResponseTypes=["ReportBatchItemFailures"])
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 3)
    assert updated["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert wait_until(lambda: state_of(client, other) == "Disabled", timeout=5)
    moved = client.update_event_source_mapping(UUID=other, FunctionName="esm-list-b")
    assert moved["FunctionArn"].endswith(":function:esm-list-b")
