"""Trace ids: a caller's X-Amzn-Trace-Id reaches the function (Lambda-Runtime-Trace-Id, seen by
the python runtime as _X_AMZN_TRACE_ID), through Invoke and a function URL; without one, each invocation gets a fresh X-Ray-shaped id. A malformed header is
not passed on."""
import json
import re

APP = '''\
import os

def handler(event, context):
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID", "")}
'''

SENT = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
MADE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")


def traced(daemon, headers=None):
    status, _, body = daemon.invoke("traced", b"{}", headers=headers)
    assert status == 200, body
    return json.loads(body)["trace"]


def test_a_callers_trace_id_reaches_the_function_and_one_is_made_otherwise(daemon):
    daemon.create("traced", {"app.py": APP})
    assert traced(daemon, {"X-Amzn-Trace-Id": SENT}) == SENT
    made = [traced(daemon) for _ in range(2)]
    assert all(MADE.match(t) for t in made), made
    assert made[0] != made[1]
    # Line breaks cannot get into a header; an oversized or non-printable one is replaced.
    assert MADE.match(traced(daemon, {"X-Amzn-Trace-Id": "Root=" + "x" * 600}))

    status, _, answer = daemon.request("POST", "/2021-10-31/functions/traced/url",
                                       json.dumps({"AuthType": "NONE"}).encode())
    assert status == 201, answer
    url_id = json.loads(answer)["FunctionUrl"].split("//")[1].split(".")[0]
    status, _, body = daemon.request("GET", f"/lambda-url/{url_id}/", headers={"X-Amzn-Trace-Id": SENT})
    assert status == 200 and json.loads(body)["trace"] == SENT
