"""Asynchronous invocations (InvocationType Event) through the durable queue: every event
accepted with a 202 runs, once when nothing fails, again after a function error, and after a
SIGKILL of the daemon; refusals happen before anything is queued."""

import concurrent.futures
import json
import re
import signal
import sqlite3
import time

import pytest

from conftest import wait_until
from lambda_clients import ClientError, create_function, lambda_client

# Prints one line per run and per completion, which the tests count by request id. A
# payload can fail the first attempts of an event (counted in /tmp, which lives as long as
# the warm environment) or hold every run until a wall-clock instant.
HANDLER = """
import os
import time

def handler(event, context):
    rid = context.aws_request_id
    print(f"ASYNC-RUN {rid}", flush=True)
    hold_until = event.get("hold_until")
    while hold_until and time.time() < hold_until:
        time.sleep(0.05)
    fail_until = event.get("fail_until")
    if fail_until:
        path = "/tmp/attempts-" + rid
        n = int(open(path).read()) + 1 if os.path.exists(path) else 1
        with open(path, "w") as f:
            f.write(str(n))
        print(f"ASYNC-ATTEMPT {rid} {n}", flush=True)
        if n < fail_until:
            raise Exception(f"attempt {n} fails on purpose")
    print(f"ASYNC-DONE {rid}", flush=True)
    return {"ok": True}
"""


def function_log(daemon, name, tail=20000):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs?tail={tail}")
    assert status == 200, body
    return body.decode(errors="replace")


def ids_of(log, tag):
    return re.findall(rf"{tag} ([0-9a-f-]{{36}})", log)


def send_events(client, name, payloads, workers=8):
    def send(payload):
        response = client.invoke(FunctionName=name, InvocationType="Event",
                                 Payload=json.dumps(payload).encode())
        assert response["StatusCode"] == 202, response
        return response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, payloads))


def test_every_event_runs_once_when_nothing_fails(daemon):
    client = lambda_client(daemon, max_pool_connections=8)
    create_function(client, "async-many", source=HANDLER)
    started = time.time()
    ids = send_events(client, "async-many", [{"n": i} for i in range(200)])
    accepted = time.time() - started
    assert len(set(ids)) == 200
    assert wait_until(lambda: len(set(ids_of(function_log(daemon, "async-many"), "ASYNC-DONE"))) >= 200,
                      timeout=30), function_log(daemon, "async-many")[-2000:]
    time.sleep(0.5)  # a second delivery of any of them would show by now
    log = function_log(daemon, "async-many")
    runs = ids_of(log, "ASYNC-RUN")
    assert sorted(runs) == sorted(ids), "an event ran twice, or one that was not sent"
    print(f"200 events accepted in {accepted:.2f} s, all run in {time.time() - started:.2f} s")


def test_a_function_that_fails_twice_is_retried_and_succeeds(make_daemon):
    daemon = make_daemon("--async-retry-delay-scale", "0.01", "--durability", "power-loss").start()
    client = lambda_client(daemon)
    create_function(client, "async-flaky", source=HANDLER)
    # One environment, so that the attempts' count in /tmp is seen by every attempt.
    client.put_function_concurrency(FunctionName="async-flaky", ReservedConcurrentExecutions=1)
    [request_id] = send_events(client, "async-flaky", [{"fail_until": 3}])
    assert wait_until(lambda: request_id in ids_of(function_log(daemon, "async-flaky"), "ASYNC-DONE"),
                      timeout=20), function_log(daemon, "async-flaky")
    log = function_log(daemon, "async-flaky")
    attempts = re.findall(rf"ASYNC-ATTEMPT {request_id} (\d)", log)
    assert attempts == ["1", "2", "3"], log
    assert "attempt 1 failed; retrying in 600 ms" in daemon.log()
    assert "attempt 2 failed; retrying in 1200 ms" in daemon.log()


def test_events_accepted_before_a_sigkill_all_run_after_a_restart(make_daemon, tmp_path):
    data_dir = tmp_path / "killed"
    first = make_daemon(data_dir=data_dir).start()
    client = lambda_client(first, max_pool_connections=8)
    create_function(client, "async-durable", source=HANDLER, Timeout=15)
    # Every run holds until a moment after the kill: none finishes before it, so the log
    # after the restart tells exactly which events ran.
    hold_until = time.time() + 4
    ids = send_events(client, "async-durable", [{"hold_until": hold_until}] * 100)
    assert wait_until(lambda: ids_of(function_log(first, "async-durable"), "ASYNC-RUN"), timeout=10)
    assert time.time() < hold_until - 1, "sending took too long for the test to mean anything"
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert not ids_of(function_log_file(data_dir, "async-durable"), "ASYNC-DONE")

    second = make_daemon(data_dir=data_dir).start()
    assert "resuming 100 queued async event(s) of 1 function(s)" in second.log()
    done = lambda: set(ids_of(function_log(second, "async-durable"), "ASYNC-DONE"))
    assert wait_until(lambda: set(ids) <= done(), timeout=30), (
        f"{len(set(ids) - done())} of 100 never ran", second.log()[-3000:])


def test_a_graceful_stop_leaves_queued_events_for_the_next_start(make_daemon, tmp_path):
    data_dir = tmp_path / "stopped"
    first = make_daemon(data_dir=data_dir).start()
    client = lambda_client(first, max_pool_connections=8)
    create_function(client, "async-stopped", source=HANDLER, Timeout=15)
    ids = send_events(client, "async-stopped", [{"hold_until": time.time() + 1.5}] * 40)
    assert wait_until(lambda: ids_of(function_log(first, "async-stopped"), "ASYNC-RUN"), timeout=10)
    first.stop()  # SIGTERM: the events running finish, the others wait in the queue
    assert first.proc.returncode == 0
    ran_before = set(ids_of(function_log_file(data_dir, "async-stopped"), "ASYNC-DONE"))
    assert ran_before and len(ran_before) < 40

    second = make_daemon(data_dir=data_dir).start()
    assert wait_until(lambda: set(ids) <= set(ids_of(function_log(second, "async-stopped"), "ASYNC-DONE")),
                      timeout=20), second.log()[-3000:]
    runs = ids_of(function_log(second, "async-stopped"), "ASYNC-RUN")
    assert sorted(runs) == sorted(ids), "an event finished before the stop ran again"


def test_events_of_a_deleted_function_are_dropped(make_daemon):
    daemon = make_daemon("--async-retry-delay-scale", "0.01").start()
    client = lambda_client(daemon)
    create_function(client, "async-deleted", source=HANDLER, Timeout=15)
    client.put_function_concurrency(FunctionName="async-deleted", ReservedConcurrentExecutions=1)
    ids = send_events(client, "async-deleted", [{"hold_until": time.time() + 2}] * 5)
    assert wait_until(lambda: ids_of(function_log(daemon, "async-deleted"), "ASYNC-RUN"), timeout=10)
    [running] = ids_of(function_log(daemon, "async-deleted"), "ASYNC-RUN")
    client.delete_function(FunctionName="async-deleted")
    # The one running finishes (a deletion does not cut a call short); the others are
    # dropped when their turn comes, for there is nothing left to run them.
    queued = [i for i in ids if i != running]
    assert wait_until(lambda: all(f"async invoke {i} of async-deleted dropped: Function not found"
                                  in daemon.log() for i in queued), timeout=10), daemon.log()[-3000:]
    assert f"async invoke {running} of async-deleted dropped" not in daemon.log()


def function_log_file(data_dir, name):
    return "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob(f"{name}*"))


def test_an_event_over_one_megabyte_is_refused_with_413(daemon):
    client = lambda_client(daemon)
    create_function(client, "async-big", source=HANDLER)
    payload = json.dumps({"blob": "x" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="async-big", InvocationType="Event", Payload=payload)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"


def test_an_event_to_an_unknown_function_is_404_and_not_queued(daemon):
    client = lambda_client(daemon)
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="async-nobody", InvocationType="Event", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # A queue made for it would be committed within milliseconds.
    time.sleep(0.3)
    with sqlite3.connect(f"file:{daemon.data_dir / 'queues' / 'queues.db'}?mode=ro", uri=True) as db:
        names = [row[0] for row in db.execute("SELECT name FROM queues")]
    assert "lambent.async.async-nobody" not in names
