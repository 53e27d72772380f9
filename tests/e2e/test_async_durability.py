"""Durability of asynchronous invocations at volume: 1,000 Event invocations each run exactly
once when nothing fails; a SIGKILL of the daemon with a backlog queued and calls in flight, or in
the middle of the sending, loses none that was answered 202. The checks read the function's own
records (one log line when a run starts and one when it ends, with the request id and the sender's
sequence number) and, with the daemon dead, the queue store it leaves."""

import collections
import concurrent.futures
import http.client
import json
import re
import signal
import sqlite3
import threading
import time

from conftest import wait_until

# One line when a run starts and one when it ends, each with the request id (stable across
# redeliveries) and the sender's sequence number from the payload.
HANDLER = """
import time

def handler(event, context):
    rid, seq = context.aws_request_id, event.get("seq")
    print(f"DUR-RUN {rid} {seq}", flush=True)
    time.sleep(event.get("sleep", 0))
    while time.time() < event.get("hold_until", 0):
        time.sleep(0.05)
    print(f"DUR-DONE {rid} {seq}", flush=True)
    return {"ok": True}
"""

RECORD = re.compile(r"(DUR-RUN|DUR-DONE) ([0-9a-f-]{36}) (\d+)")


def send_events(daemon, name, payloads, connections=8):
    """Event invocations over a few keep-alive connections; returns the request ids, in order.
    Raw HTTP keeps the sender well ahead of the function."""
    path = f"/2015-03-31/functions/{name}/invocations"
    ids = [None] * len(payloads)
    local = threading.local()

    def send(index):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
        local.conn.request("POST", path, body=json.dumps(payloads[index]).encode(),
                           headers={"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"})
        response = local.conn.getresponse()
        body = response.read()
        assert response.status == 202, (response.status, body)
        ids[index] = response.getheader("x-amzn-RequestId")

    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(send, range(len(payloads))))
    assert len(set(ids)) == len(ids), "two events were given the same request id"
    return ids


def records(log):
    """{"DUR-RUN": Counter(request id), "DUR-DONE": Counter(request id)} and {request id: seq}."""
    counts = {"DUR-RUN": collections.Counter(), "DUR-DONE": collections.Counter()}
    seq_of = {}
    for tag, rid, seq in RECORD.findall(log):
        counts[tag][rid] += 1
        seq_of[rid] = int(seq)
    return counts, seq_of


def function_log(daemon, name):
    status, _, body = daemon.request("GET", f"/lambent/v1/functions/{name}/logs?tail=100000")
    assert status == 200, body
    return body.decode(errors="replace")


def log_file(data_dir, name):
    """The function's log as the disk holds it (readable with the daemon dead)."""
    return "".join(p.read_text(errors="replace") for p in sorted((data_dir / "logs").glob(f"{name}*")))


def test_a_thousand_events_each_run_exactly_once(daemon):
    name = "dur-thousand"
    daemon.create(name, {"app.py": HANDLER})
    started = time.time()
    ids = send_events(daemon, name, [{"seq": i} for i in range(1000)])
    accepted = time.time() - started

    def done():
        return len(records(function_log(daemon, name))[0]["DUR-DONE"])
    assert wait_until(lambda: done() >= 1000, timeout=40, interval=0.25), (
        f"{done()} of 1000 events ran", daemon.log()[-3000:])
    delivered = time.time() - started
    time.sleep(1.0)  # a second delivery of any of them would show by now
    counts, seq_of = records(function_log(daemon, name))
    assert set(counts["DUR-RUN"]) == set(ids), "an event never ran, or one that was not sent did"
    twice = [rid for rid, n in counts["DUR-RUN"].items() if n > 1]
    assert not twice, f"{len(twice)} event(s) ran more than once: {twice[:5]}"
    assert all(counts["DUR-DONE"][rid] == 1 for rid in ids)
    # Each request id ran with the payload it was accepted with.
    assert [seq_of[rid] for rid in ids] == list(range(1000))
    print(f"1000 events accepted in {accepted:.2f} s, all delivered once in {delivered:.2f} s")


def test_a_sigkill_with_a_backlog_and_calls_in_flight_loses_no_event(make_daemon, tmp_path):
    name, in_flight, total = "dur-killed", 50, 550
    data_dir = tmp_path / "killed"
    first = make_daemon(data_dir=data_dir).start()
    first.create(name, {"app.py": HANDLER}, Timeout=30)
    status, _, body = first.request("PUT", f"/2017-10-31/functions/{name}/concurrency",
                                    {"ReservedConcurrentExecutions": in_flight})
    assert status == 200, body
    # Warm environments first (their records carry no number, so the checks skip them): the
    # wave below then starts at once instead of a few environments at a time.
    send_events(first, name, [{"seq": "warm", "sleep": 3}] * in_flight)
    assert wait_until(lambda: function_log(first, name).count("DUR-DONE") >= in_flight, timeout=30), (
        first.log()[-3000:])
    # In this life every run holds until after the kill, so none finishes (is acknowledged)
    # before it; after the restart each takes a second.
    hold_until = time.time() + 8
    ids = send_events(first, name, [{"seq": i, "sleep": 1, "hold_until": hold_until} for i in range(total)])

    # Kill once the wave fills the reservation: as none can finish, no other event starts, and
    # the runs in the log now are exactly those in flight at the kill. (The log is read through
    # the daemon: the lines of the last instants may never reach the file.)
    def started():
        return set(records(function_log(first, name))[0]["DUR-RUN"])
    assert wait_until(lambda: len(started()) >= in_flight, timeout=20, interval=0.05), (
        f"only {len(started())} events started", first.log()[-3000:])
    ran_before = started()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert time.time() < hold_until - 1, "the wave took too long to start for the test to mean anything"
    assert not records(log_file(data_dir, name))[0]["DUR-DONE"], "an event finished before the kill"
    assert len(ran_before) == in_flight, "more ran at once than the reservation"
    with sqlite3.connect(f"file:{data_dir / 'queues' / 'queues.db'}?mode=ro", uri=True) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM messages WHERE queue = ?",
                                               (f"lambent.async.{name}",))}
    assert set(ids) <= stored, f"{len(set(ids) - stored)} events answered 202 are not in the store"

    second = make_daemon(data_dir=data_dir).start()
    resumed = re.search(r"resuming (\d+) queued async event", second.log())
    assert resumed and int(resumed.group(1)) == total, second.log()[-3000:]

    def missing():
        return set(ids) - set(records(function_log(second, name))[0]["DUR-DONE"])
    assert wait_until(lambda: not missing(), timeout=45, interval=0.5), (
        f"{len(missing())} of {total} events never finished after the restart", second.log()[-3000:])
    time.sleep(1.5)  # a late redelivery would have started by now
    counts, seq_of = records(function_log(second, name))
    assert set(counts["DUR-RUN"]) == set(ids), "an event that was not sent ran"
    again = {rid for rid, n in counts["DUR-RUN"].items() if n > 1}
    assert again <= ran_before, (
        f"{len(again - ran_before)} event(s) that had not started before the kill ran twice")
    assert all(counts["DUR-RUN"][rid] <= 2 for rid in ids), "an event ran more than twice"
    assert all(counts["DUR-DONE"][rid] == 1 for rid in ids), "an event finished twice"
    assert [seq_of[rid] for rid in ids] == list(range(total))
    print(f"at the kill: {len(ran_before)} in flight, {total - len(ran_before)} queued; "
          f"{resumed.group(1)} resumed; {len(again)} ran again after the restart")


def test_every_event_answered_202_survives_a_sigkill_in_the_middle_of_the_sending(make_daemon, tmp_path):
    name = "dur-mid-send"
    data_dir = tmp_path / "mid-send"
    first = make_daemon(data_dir=data_dir).start()
    first.create(name, {"app.py": HANDLER}, Timeout=15)
    status, _, body = first.request("PUT", f"/2017-10-31/functions/{name}/concurrency",
                                    {"ReservedConcurrentExecutions": 5})
    assert status == 200, body
    path = f"/2015-03-31/functions/{name}/invocations"
    # Every run holds until after the kill, so none is finished (acknowledged) before it: each
    # event answered 202 must then be in the store the daemon leaves, and run after the restart.
    hold_until = time.time() + 4
    accepted, lock = [], threading.Lock()

    def sender(worker):
        conn = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10)
        for i in range(100000):
            try:
                conn.request("POST", path, body=json.dumps({"seq": worker * 100000 + i,
                                                            "hold_until": hold_until}).encode(),
                             headers={"X-Amz-Invocation-Type": "Event"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return  # the daemon is gone
            if response.status == 202:
                with lock:
                    accepted.append(response.getheader("x-amzn-RequestId"))

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    assert wait_until(lambda: len(accepted) >= 300, timeout=20), len(accepted)
    first.proc.send_signal(signal.SIGKILL)  # with requests in every state of being stored
    first.proc.wait()
    for t in threads:
        t.join(timeout=15)
    assert time.time() < hold_until - 1, "sending took too long for the test to mean anything"
    acknowledged = set(accepted)
    with sqlite3.connect(f"file:{data_dir / 'queues' / 'queues.db'}?mode=ro", uri=True) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM messages WHERE queue = ?",
                                               (f"lambent.async.{name}",))}
    assert acknowledged <= stored, f"{len(acknowledged - stored)} events answered 202 are not in the store"

    second = make_daemon(data_dir=data_dir).start()

    def missing():
        return acknowledged - set(records(function_log(second, name))[0]["DUR-DONE"])
    assert wait_until(lambda: not missing(), timeout=45, interval=0.25), (
        f"{len(missing())} of {len(acknowledged)} events answered 202 never ran", second.log()[-3000:])
    print(f"{len(acknowledged)} events answered 202 before the kill ({len(stored)} stored), all ran")
