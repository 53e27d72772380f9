"""The EventBridge-compatible API: buses, rules and targets through boto3 and the AWS CLI,
PutEvents routed by event patterns to exactly the targets that match, rate schedules firing
(with --schedule-rate-scale making a minute short), cron next times, persistence across a
restart, and bad input answered in EventBridge's error shapes."""

import calendar
import datetime
import json
import re
import subprocess
import time

import pytest

from conftest import wait_until
from lambda_clients import ClientError, aws_cli, create_function, lambda_client

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

from test_aws_cli import AWS  # noqa: E402

ACCOUNT = "000000000000"
REGION = "us-east-1"

# Prints each event it gets on one line, which the tests read back from its log.
RECORDER = """
import json

def handler(event, context):
    print("EB-GOT " + json.dumps(event, sort_keys=True), flush=True)
    return {"ok": True}
"""


def events_client(daemon):
    return boto3.session.Session().client(
        "events", endpoint_url=daemon.endpoint, region_name=REGION,
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60))


def function_arn(name):
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def received(daemon, name):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs?tail=20000")
    assert status == 200, body
    return [json.loads(line) for line in re.findall(r"EB-GOT (\{.*\})", body.decode(errors="replace"))]


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_put_events_reach_exactly_the_targets_whose_patterns_match(daemon):
    create_function(lambda_client(daemon), "eb-recorder", source=RECORDER)
    events = events_client(daemon)
    bus_arn = events.create_event_bus(Name="orders")["EventBusArn"]
    assert bus_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"
    # Each target marks what it forwards with its rule's name.
    rules = {
        "even": {"source": ["shop"], "detail": {"parity": ["even"]}},
        "big": {"source": ["shop"], "detail": {"n": [{"numeric": [">", 80]}]}},
        "vip": {"detail": {"customer": [{"prefix": "vip-"}]}},
    }
    for name, pattern in rules.items():
        events.put_rule(Name=name, EventBusName="orders", EventPattern=json.dumps(pattern))
        answer = events.put_targets(Rule=name, EventBusName="orders", Targets=[{
            "Id": "recorder", "Arn": function_arn("eb-recorder"),
            "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"},
                                 "InputTemplate": '{"rule": <aws.events.rule-name>, "n": <n>}'}}])
        assert answer["FailedEntryCount"] == 0, answer
    # A rule on the default bus with the same pattern must not see the orders bus's events.
    events.put_rule(Name="even", EventPattern=json.dumps(rules["even"]))
    events.put_targets(Rule="even", Targets=[{"Id": "r", "Arn": function_arn("eb-recorder"),
                                              "Input": '{"rule": "default-even"}'}])

    expected = []
    for batch in range(10):
        entries = []
        for i in range(10):
            n = batch * 10 + i
            detail = {"n": n, "parity": "even" if n % 2 == 0 else "odd",
                      "customer": f"vip-{n}" if n % 25 == 0 else f"c-{n}"}
            entries.append({"Source": "shop", "DetailType": "Order", "Detail": json.dumps(detail),
                            "EventBusName": "orders"})
            if n % 2 == 0:
                expected.append(("even", n))
            if n > 80:
                expected.append(("big", n))
            if n % 25 == 0:
                expected.append(("vip", n))
        answer = events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0, answer
        assert all(re.fullmatch(r"[0-9a-f-]{36}", e["EventId"]) for e in answer["Entries"])

    assert wait_until(lambda: len(received(daemon, "eb-recorder")) >= len(expected), timeout=60), \
        (len(received(daemon, "eb-recorder")), len(expected))
    time.sleep(0.5)  # anything routed twice, or to the default bus's rule, would show by now
    got = sorted((e["rule"], e["n"]) for e in received(daemon, "eb-recorder"))
    assert got == sorted(expected)


def test_a_rate_schedule_fires_scheduled_events_until_disabled(make_daemon):
    # rate(1 minute) fires every 0.3 s.
    daemon = make_daemon("--schedule-rate-scale", "0.005").start()
    create_function(lambda_client(daemon), "eb-ticks", source=RECORDER)
    events = events_client(daemon)
    rule_arn = events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")["RuleArn"]
    assert rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"
    events.put_targets(Rule="tick", Targets=[{"Id": "t", "Arn": function_arn("eb-ticks")}])
    assert wait_until(lambda: len(received(daemon, "eb-ticks")) >= 3, timeout=30)
    first = received(daemon, "eb-ticks")[0]
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert first["resources"] == [rule_arn]
    assert first["detail"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["time"])

    events.disable_rule(Name="tick")
    time.sleep(1.0)  # a delivery already queued may still land
    count = len(received(daemon, "eb-ticks"))
    time.sleep(1.5)
    assert len(received(daemon, "eb-ticks")) == count, "a disabled rule does not fire"
    assert events.describe_rule(Name="tick")["State"] == "DISABLED"


def first_mondays_at_nine(after, count):
    times = []
    year, month = after.year, after.month
    while len(times) < count:
        first = datetime.datetime(year, month, 1, 9, 0, tzinfo=datetime.timezone.utc)
        monday = first + datetime.timedelta(days=(0 - first.weekday()) % 7)
        if monday > after:
            times.append(monday.strftime("%Y-%m-%dT%H:%M:%SZ"))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return times


def test_cron_rules_show_their_next_times_and_survive_a_restart(make_daemon, tmp_path):
    data = tmp_path / "eb-data"
    daemon = make_daemon(data_dir=data).start()
    events = events_client(daemon)
    events.put_rule(Name="monthly", ScheduleExpression="cron(0 9 ? * 2#1 *)",
                    Description="first Monday of the month")
    now = datetime.datetime.now(datetime.timezone.utc)
    status, _, body = daemon.request("GET", "/lambent/v1/rules?count=3")
    assert status == 200, body
    rule = next(r for r in json.loads(body)["Rules"] if r["Name"] == "monthly")
    assert rule["NextFirings"] == first_mondays_at_nine(now, 3)

    daemon.stop()
    daemon = make_daemon(data_dir=data).start()
    described = events_client(daemon).describe_rule(Name="monthly")
    assert described["ScheduleExpression"] == "cron(0 9 ? * 2#1 *)"
    assert described["Description"] == "first Monday of the month"


def test_the_aws_cli_manages_rules_and_targets(daemon, tmp_path):
    cli = aws_cli(daemon, tmp_path)

    def events(*args, check=True):
        proc = subprocess.run([AWS, "--endpoint-url", daemon.endpoint, "events", *args],
                              capture_output=True, text=True, env=cli.env, timeout=90)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else proc

    events("put-rule", "--name", "nightly", "--schedule-expression", "cron(0 3 * * ? *)")
    answer = events("put-targets", "--rule", "nightly", "--targets",
                    json.dumps([{"Id": "1", "Arn": function_arn("anything")}]))
    assert answer["FailedEntryCount"] == 0
    assert [r["Name"] for r in events("list-rules")["Rules"]] == ["nightly"]
    assert events("list-targets-by-rule", "--rule", "nightly")["Targets"][0]["Arn"] == function_arn("anything")
    failed = events("delete-rule", "--name", "nightly", check=False)
    assert failed.returncode != 0 and "has targets" in failed.stderr
    events("remove-targets", "--rule", "nightly", "--ids", "1")
    events("delete-rule", "--name", "nightly")
    assert events("list-rules")["Rules"] == []
    bad = events("put-rule", "--name", "x", "--schedule-expression", "cron(0 3 * * * *)", check=False)
    assert bad.returncode != 0 and "ValidationException" in bad.stderr


def test_bad_input_gets_eventbridge_errors_and_the_daemon_keeps_serving(daemon):
    events = events_client(daemon)
    assert error_code(events.put_rule, Name="r", ScheduleExpression="rate(1 minutes)")[0] == "ValidationException"
    assert error_code(events.put_rule, Name="r", EventPattern='{"source": "x"}')[0] == "InvalidEventPatternException"
    assert error_code(events.put_rule, Name="r", EventPattern="not json")[0] == "InvalidEventPatternException"
    assert error_code(events.describe_rule, Name="missing")[0] == "ResourceNotFoundException"
    assert error_code(events.put_targets, Rule="missing",
                      Targets=[{"Id": "1", "Arn": function_arn("f")}])[0] == "ResourceNotFoundException"
    events.put_rule(Name="r", EventPattern='{"source": ["x"]}')
    answer = events.put_targets(Rule="r", Targets=[{"Id": "sns", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"}])
    assert answer["FailedEntryCount"] == 1 and answer["FailedEntries"][0]["TargetId"] == "sns"
    entries = [{"Source": "s", "DetailType": "d", "Detail": "{}"}] * 11
    assert error_code(events.put_events, Entries=entries)[0] == "ValidationException"
    answer = events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "not json"},
                                        {"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] and "EventId" in answer["Entries"][1]
    status, _, body = daemon.request("POST", "/", body=b"{not json",
                                     headers={"X-Amz-Target": "AWSEvents.PutRule",
                                              "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400 and b"SerializationException" in body
    status, _, body = daemon.request("POST", "/", body=b"{}",
                                     headers={"X-Amz-Target": "AWSEvents.Frobnicate",
                                              "Content-Type": "application/x-amz-json-1.1"})
    assert status == 400 and b"UnknownOperationException" in body
    assert events.list_rules()["Rules"][0]["Name"] == "r"


def test_the_lambent_cli_schedules_lists_emits_and_removes(make_daemon):
    daemon = make_daemon("--schedule-rate-scale", "0.005").start()
    create_function(lambda_client(daemon), "eb-cli", source=RECORDER)
    out = daemon.cli("schedule", "eb-cli", "rate(1 minute)", "--input", '{"from": "cli"}', check=True)
    assert "eb-cli-schedule runs eb-cli on rate(1 minute)" in out.stdout
    assert out.stdout.count("next: ") == 3
    assert wait_until(lambda: any(e.get("from") == "cli" for e in received(daemon, "eb-cli")), timeout=30)
    events_client(daemon).put_rule(Name="orders", EventPattern='{"source": ["shop"]}')
    events_client(daemon).put_targets(Rule="orders", Targets=[{"Id": "1", "Arn": function_arn("eb-cli")}])
    listed = daemon.cli("rules", check=True).stdout
    assert "eb-cli-schedule  rate(1 minute)  ENABLED" in listed and "orders  pattern" in listed
    event_id = daemon.cli("emit", "shop", "Order", '{"total": 5}', check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", event_id)
    assert wait_until(lambda: any(e.get("id") == event_id for e in received(daemon, "eb-cli")), timeout=30)
    bad = daemon.cli("schedule", "eb-cli", "rate(1 minutes)")
    assert bad.returncode == 1 and "ValidationException" in bad.stderr
    assert "deleted eb-cli-schedule (1 target)" in daemon.cli("rules", "rm", "eb-cli-schedule", check=True).stdout
    assert "eb-cli-schedule" not in daemon.cli("rules", check=True).stdout
