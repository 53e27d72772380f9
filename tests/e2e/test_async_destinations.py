"""Event invoke configs, destinations, dead-letter queues and the event log: what Lambda
does with an asynchronous event once it has succeeded or failed for good, driven by the AWS
CLI and boto3; `lambent events` and the admin API show each event's fate."""

import json
import re
import time

import pytest

from conftest import wait_until
from lambda_clients import aws_cli, create_function, error_of, lambda_client

ACCOUNT_ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:"

# Fails until its attempt number (counted in /tmp, which lives as long as the warm
# environment) reaches `fail_until`; `fail_until` 0 fails every time.
FLAKY = """
import os

def handler(event, context):
    path = "/tmp/attempts-" + context.aws_request_id
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as f:
        f.write(str(n))
    fail_until = event.get("fail_until", 0)
    if fail_until == 0 or n < fail_until:
        raise Exception(f"attempt {n} fails on purpose")
    return {"ok": True, "attempt": n}
"""

# Prints every record it is sent, one line each, for the test to read back.
RECORDER = """
import json

def handler(event, context):
    print("RECORD " + json.dumps(event), flush=True)
    return {}
"""


def function_log(daemon, name):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs?tail=5000")
    assert status == 200, body
    return body.decode(errors="replace")


def records(daemon, name="recorder"):
    return [json.loads(line) for line in re.findall(r"^RECORD (.*)$", function_log(daemon, name), re.M)]


def record_of(daemon, request_id, timeout=20, name="recorder"):
    found = []

    def arrived():
        found[:] = [r for r in records(daemon, name) if r["requestContext"]["requestId"] == request_id]
        return found

    assert wait_until(arrived, timeout=timeout), (function_log(daemon, name)[-2000:], daemon.log()[-3000:])
    return found[0]


def send_event(client, name, payload, **extra):
    response = client.invoke(FunctionName=name, InvocationType="Event",
                             Payload=json.dumps(payload).encode(), **extra)
    assert response["StatusCode"] == 202, response
    return response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def events_of(daemon, name, **query):
    path = f"/lambent/v1/functions/{name}/events"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    status, _, body = daemon.request("GET", path)
    assert status == 200, body
    return json.loads(body)["Events"]


def event_state(daemon, name, request_id):
    for event in events_of(daemon, name):
        if event["RequestId"] == request_id:
            return event
    return None


def setup_pair(client, flaky="flaky"):
    create_function(client, "recorder", source=RECORDER)
    create_function(client, flaky, source=FLAKY)
    # One environment, so that every attempt sees the count in /tmp.
    client.put_function_concurrency(FunctionName=flaky, ReservedConcurrentExecutions=1)


@pytest.fixture
def fast(make_daemon):
    """A daemon whose retries come after 0.6 and 1.2 s rather than 1 and 2 minutes."""
    return make_daemon("--async-retry-delay-scale", "0.01").start()


def sqs_client(daemon):
    import boto3
    from botocore.config import Config
    return boto3.session.Session().client(
        "sqs", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}))


def sqs_or_skip(daemon):
    """boto3's SQS client when the daemon's SQS API answers CreateQueue."""
    sqs = sqs_client(daemon)
    try:
        sqs.create_queue(QueueName="probe")
    except Exception as e:  # noqa: BLE001 - whatever a missing API answers
        pytest.skip(f"the SQS API does not answer yet: {e}")
    return sqs


def receive_all(sqs, url, count, timeout=20):
    got = []
    deadline = time.time() + timeout
    while len(got) < count and time.time() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"])
        got += answer.get("Messages", [])
    return got


# --- the configuration API ---------------------------------------------------------------


def test_event_invoke_configs_are_put_updated_listed_and_deleted_with_the_aws_cli(daemon, tmp_path):
    client = lambda_client(daemon)
    create_function(client, "cfg")
    create_function(client, "cfg-target")
    client.publish_version(FunctionName="cfg")
    client.create_alias(FunctionName="cfg", Name="live", FunctionVersion="1")
    aws = aws_cli(daemon, tmp_path)
    target = ACCOUNT_ARN + "cfg-target"

    put = aws.json("put-function-event-invoke-config", "--function-name", "cfg",
                   "--maximum-retry-attempts", "1",
                   "--destination-config", json.dumps({"OnFailure": {"Destination": target}}))
    assert put["FunctionArn"] == ACCOUNT_ARN + "cfg:$LATEST"
    assert put["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": target}}
    # Epoch seconds on the wire, as Lambda answers; the CLI shows them as ISO 8601.
    assert put["LastModified"].startswith(time.strftime("%Y-%m-%dT", time.gmtime()))

    # Update merges: what it does not name stays.
    updated = aws.json("update-function-event-invoke-config", "--function-name", "cfg",
                       "--maximum-event-age-in-seconds", "120")
    assert updated["MaximumRetryAttempts"] == 1
    assert updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": target}
    got = aws.json("get-function-event-invoke-config", "--function-name", "cfg")
    assert got == updated

    # Per qualifier: the alias has its own.
    aliased = aws.json("put-function-event-invoke-config", "--function-name", "cfg",
                       "--qualifier", "live", "--maximum-event-age-in-seconds", "60")
    assert aliased["FunctionArn"] == ACCOUNT_ARN + "cfg:live"
    listed = aws.json("list-function-event-invoke-configs", "--function-name", "cfg")
    assert sorted(c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]) == [
        ACCOUNT_ARN + "cfg:$LATEST", ACCOUNT_ARN + "cfg:live"]

    # Put replaces: the retry limit and destination are gone.
    replaced = aws.json("put-function-event-invoke-config", "--function-name", "cfg",
                        "--maximum-event-age-in-seconds", "300")
    assert "MaximumRetryAttempts" not in replaced
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    aws.run("delete-function-event-invoke-config", "--function-name", "cfg")
    gone = aws.run("get-function-event-invoke-config", "--function-name", "cfg", check=False)
    assert gone.returncode != 0
    assert "ResourceNotFoundException" in gone.stderr
    assert f"The function {ACCOUNT_ARN}cfg:$LATEST doesn't have an EventInvokeConfig" in gone.stderr

    # Deleting the alias takes its config along.
    client.delete_alias(FunctionName="cfg", Name="live")
    client.create_alias(FunctionName="cfg", Name="live", FunctionVersion="1")
    assert error_of(client.get_function_event_invoke_config, FunctionName="cfg",
                    Qualifier="live")[1] == "ResourceNotFoundException"


def test_event_invoke_configs_are_validated_as_lambda_does(daemon):
    client = lambda_client(daemon)
    create_function(client, "val")
    status, code, message = error_of(client.put_function_event_invoke_config, FunctionName="val",
                                     MaximumRetryAttempts=3)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have " \
           "value less than or equal to 2" in message
    # Below the minimum botocore refuses itself; a raw request reaches the daemon.
    status, _, body = daemon.request("PUT", "/2019-09-25/functions/val/event-invoke-config",
                                     json.dumps({"MaximumEventAgeInSeconds": 59}).encode())
    assert status == 400
    assert b"Member must have value greater than or equal to 60" in body
    status, _, body = daemon.request("PUT", "/2019-09-25/functions/val/event-invoke-config",
                                     json.dumps({"MaximumEventAgeInSeconds": 21601}).encode())
    assert status == 400 and b"less than or equal to 21600" in body
    _, code, message = error_of(client.put_function_event_invoke_config, FunctionName="val")
    assert message == "You must specify at least one of error handling or destination setting."

    def destination_error(arn):
        return error_of(client.put_function_event_invoke_config, FunctionName="val",
                        DestinationConfig={"OnFailure": {"Destination": arn}})

    status, code, message = destination_error("arn:aws:sns:us-east-1:000000000000:topic")
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "cannot deliver to SNS topics" in message
    assert "EventBridge" in destination_error(
        "arn:aws:events:us-east-1:000000000000:event-bus/default")[2]
    assert destination_error(ACCOUNT_ARN + "nobody")[2] == \
        f"The destination ARN {ACCOUNT_ARN}nobody is invalid."
    assert destination_error(ACCOUNT_ARN + "val")[2] == \
        "You can't specify the function as a destination for itself."
    assert "lambent delivers only to its own queues" in destination_error(
        "arn:aws:sqs:eu-west-1:000000000000:q")[2]
    assert "regular expression pattern" in destination_error("not-an-arn")[2]
    assert "length less than or equal to 350" in destination_error(QUEUE_ARN + "q" * 400)[2]

    status, code, message = error_of(client.put_function_event_invoke_config, FunctionName="nobody",
                                     MaximumRetryAttempts=1)
    assert (status, code, message) == (404, "ResourceNotFoundException", "The function doesn't exist.")
    assert error_of(client.put_function_event_invoke_config, FunctionName="val", Qualifier="9",
                    MaximumRetryAttempts=1)[1] == "ResourceNotFoundException"
    status, code, message = error_of(client.update_function_event_invoke_config, FunctionName="val",
                                     MaximumRetryAttempts=1)
    assert (status, code) == (404, "ResourceNotFoundException")
    assert "doesn't have an EventInvokeConfig" in message
    assert error_of(client.delete_function_event_invoke_config,
                    FunctionName="val")[1] == "ResourceNotFoundException"


def test_configs_survive_a_restart(make_daemon, tmp_path):
    first = make_daemon(data_dir=tmp_path / "kept").start()
    client = lambda_client(first)
    create_function(client, "kept")
    client.put_function_event_invoke_config(FunctionName="kept", MaximumRetryAttempts=0)
    first.stop()
    second = make_daemon(data_dir=tmp_path / "kept").start()
    got = lambda_client(second).get_function_event_invoke_config(FunctionName="kept")
    assert got["MaximumRetryAttempts"] == 0


def test_a_dead_letter_target_is_part_of_the_configuration(daemon, tmp_path):
    client = lambda_client(daemon)
    dlq = QUEUE_ARN + "dlq"
    created = create_function(client, "dlq-cfg", DeadLetterConfig={"TargetArn": dlq})
    assert created["DeadLetterConfig"] == {"TargetArn": dlq}
    assert client.get_function_configuration(FunctionName="dlq-cfg")["DeadLetterConfig"] == \
        {"TargetArn": dlq}
    aws = aws_cli(daemon, tmp_path)
    status, code, message = error_of(client.update_function_configuration, FunctionName="dlq-cfg",
                                     DeadLetterConfig={"TargetArn": "arn:aws:sns:us-east-1:000000000000:t"})
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "cannot deliver to SNS topics" in message
    # An empty target removes it, as on Lambda.
    cleared = aws.json("update-function-configuration", "--function-name", "dlq-cfg",
                       "--dead-letter-config", "TargetArn=")
    assert "DeadLetterConfig" not in cleared


# --- destinations and the event log ------------------------------------------------------


def test_a_function_that_fails_twice_is_retried_and_its_success_recorded(fast):
    client = lambda_client(fast)
    setup_pair(client)
    client.put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnSuccess": {"Destination": ACCOUNT_ARN + "recorder"}})
    request_id = send_event(client, "flaky", {"fail_until": 3})
    record = record_of(fast, request_id)
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    assert record["requestContext"] == {"requestId": request_id,
                                        "functionArn": ACCOUNT_ARN + "flaky:$LATEST",
                                        "condition": "Success", "approximateInvokeCount": 3}
    assert record["requestPayload"] == {"fail_until": 3}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": True, "attempt": 3}
    event = event_state(fast, "flaky", request_id)
    assert event["State"] == "succeeded" and event["Attempts"] == 3
    assert event["Qualifier"] == "$LATEST"
    shown = fast.cli("events", "flaky", check=True).stdout
    assert re.search(rf"{request_id}\s+\$LATEST\s+succeeded\s+3\s", shown), shown


def test_a_function_that_always_fails_ends_in_its_failure_destination(fast):
    client = lambda_client(fast)
    setup_pair(client)
    client.put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": ACCOUNT_ARN + "recorder"}})
    request_id = send_event(client, "flaky", {"fail_until": 0, "order": 7})
    # Retrying shows while it waits between attempts.
    assert wait_until(lambda: (event_state(fast, "flaky", request_id) or {}).get("State") == "retrying",
                      timeout=10)
    record = record_of(fast, request_id)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"fail_until": 0, "order": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "attempt 3 fails on purpose"
    event = event_state(fast, "flaky", request_id)
    assert event["State"] == "failed" and event["Attempts"] == 3
    assert event["LastError"] == "attempt 3 fails on purpose"
    failed = json.loads(fast.cli("events", "flaky", "--state", "failed", "--json", check=True).stdout)
    assert [e["RequestId"] for e in failed] == [request_id]
    assert json.loads(fast.cli("events", "flaky", "--state", "succeeded", "--json",
                               check=True).stdout) == []


def test_the_qualifiers_own_config_applies(fast):
    client = lambda_client(fast)
    setup_pair(client)
    client.publish_version(FunctionName="flaky")
    client.create_alias(FunctionName="flaky", Name="live", FunctionVersion="1")
    # $LATEST would retry twice; the alias not at all.
    client.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=2)
    client.put_function_event_invoke_config(
        FunctionName="flaky", Qualifier="live", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": ACCOUNT_ARN + "recorder"}})
    request_id = send_event(client, "flaky", {"fail_until": 0}, Qualifier="live")
    record = record_of(fast, request_id)
    assert record["requestContext"]["functionArn"] == ACCOUNT_ARN + "flaky:live"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["executedVersion"] == "1"


def test_an_event_older_than_its_maximum_age_ends_with_event_age_exceeded(make_daemon):
    # Retries twice as far apart as Lambda's: the first one (2 minutes) would come after
    # the event's 60 seconds, so it expires at once instead of waiting for nothing.
    daemon = make_daemon("--async-retry-delay-scale", "2").start()
    client = lambda_client(daemon)
    setup_pair(client)
    client.put_function_event_invoke_config(
        FunctionName="flaky", MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": ACCOUNT_ARN + "recorder"}})
    request_id = send_event(client, "flaky", {"fail_until": 0})
    record = record_of(daemon, request_id)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    event = event_state(daemon, "flaky", request_id)
    assert event["State"] == "expired"
    assert "expired" in daemon.cli("events", "flaky", check=True).stdout


def test_the_event_log_survives_a_restart_and_is_bounded_by_the_request(make_daemon, tmp_path):
    data_dir = tmp_path / "log"
    first = make_daemon(data_dir=data_dir).start()
    client = lambda_client(first)
    create_function(client, "logged", source=RECORDER)
    ids = [send_event(client, "logged", {"n": n}) for n in range(3)]
    assert wait_until(lambda: [e["State"] for e in events_of(first, "logged")] == ["succeeded"] * 3,
                      timeout=20), events_of(first, "logged")
    first.stop()
    second = make_daemon(data_dir=data_dir).start()
    listed = events_of(second, "logged")
    assert [e["RequestId"] for e in listed] == list(reversed(ids))
    assert all(e["Attempts"] == 1 and e["LastError"] == "" for e in listed)
    assert [e["RequestId"] for e in events_of(second, "logged", limit=1)] == [ids[-1]]
    status, _, body = second.request("GET", "/lambent/v1/functions/logged/events?state=done")
    assert status == 400 and b"state must be one of" in body
    status, _, _ = second.request("GET", "/lambent/v1/functions/nobody/events")
    assert status == 404
    bad = second.cli("events", "logged", "--state", "done")
    assert bad.returncode == 2


def test_invoke_async_the_legacy_operation_queues_the_event(fast):
    client = lambda_client(fast)
    create_function(client, "recorder", source=RECORDER)
    answer = client.invoke_async(FunctionName="recorder", InvokeArgs=b'{"legacy": true}')
    assert answer["Status"] == 202
    assert wait_until(lambda: any(r == {"legacy": True} for r in records(fast)), timeout=10)
    status, _, body = fast.request("POST", "/2014-11-13/functions/nobody/invoke-async/", b"{}")
    assert status == 404
    status, headers, body = fast.request("POST", "/2014-11-13/functions/recorder/invoke-async/",
                                         b"{nope")
    assert status == 400 and b"Could not parse request body into json" in body
    status, _, body = fast.request("POST", "/2014-11-13/functions/recorder/invoke-async/",
                                   b'"' + b"x" * (1024 * 1024) + b'"')
    assert status == 413


def test_lambent_invoke_async_prints_the_request_id(fast):
    client = lambda_client(fast)
    create_function(client, "recorder", source=RECORDER)
    out = fast.cli("invoke", "recorder", "--async", "--payload", '{"cli": 1}', check=True).stdout
    request_id = re.fullmatch(r"queued ([0-9a-f-]{36})\n", out).group(1)
    assert wait_until(lambda: (event_state(fast, "recorder", request_id) or {}).get("State")
                      == "succeeded", timeout=10)


# --- queues as destinations (the SQS-compatible API) -------------------------------------


def test_failures_reach_the_failure_queue_and_the_dead_letter_queue(fast):
    sqs = sqs_or_skip(fast)
    client = lambda_client(fast)
    failures = sqs.create_queue(QueueName="failures")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    create_function(client, "flaky", source=FLAKY, DeadLetterConfig={"TargetArn": QUEUE_ARN + "dead-letters"})
    client.put_function_concurrency(FunctionName="flaky", ReservedConcurrentExecutions=1)
    client.put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN + "failures"}})
    request_id = send_event(client, "flaky", {"fail_until": 0, "order": 8})

    [failure] = receive_all(sqs, failures, 1)
    record = json.loads(failure["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"fail_until": 0, "order": 8}

    [dead] = receive_all(sqs, dlq, 1)
    assert json.loads(dead["Body"]) == {"fail_until": 0, "order": 8}  # the original event
    attributes = dead["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": request_id, "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert attributes["ErrorMessage"] == {"StringValue": "attempt 3 fails on purpose",
                                          "DataType": "String"}


def test_a_success_record_reaches_a_queue_and_a_missing_queue_is_skipped(fast):
    sqs = sqs_or_skip(fast)
    client = lambda_client(fast)
    successes = sqs.create_queue(QueueName="successes")["QueueUrl"]
    create_function(client, "recorder", source=RECORDER)
    client.put_function_event_invoke_config(
        FunctionName="recorder", DestinationConfig={"OnSuccess": {"Destination": QUEUE_ARN + "successes"}})
    request_id = send_event(client, "recorder", {"a": 1})
    [message] = receive_all(sqs, successes, 1)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["requestId"] == request_id
    assert record["responsePayload"] == {}

    sqs.delete_queue(QueueUrl=successes)
    lost = send_event(client, "recorder", {"a": 2})
    assert wait_until(lambda: f"async invoke {lost} of recorder: its record for {QUEUE_ARN}successes "
                              "is dropped" in fast.log(), timeout=10), fast.log()[-2000:]
    assert event_state(fast, "recorder", lost)["State"] == "succeeded"
