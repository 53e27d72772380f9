"""Custom runtimes (provided, provided.al2, provided.al2023): the package's own `bootstrap`
speaks the Runtime API. Here the bootstrap is a POSIX shell script driving curl, the
smallest possible runtime, so every Runtime API call is visible in the test."""

import base64
import json
import time

import pytest
from conftest import header

# The Runtime API loop: GET next (headers to a file, -D), POST the response. The response
# echoes what the runtime saw so the test can check the /next contract.
LOOP = r"""#!/bin/sh
set -u
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT
header() {  # header NAME: the value of a response header of the last /next, case-insensitive
  grep -i "^$1:" "$HEADERS" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}
COUNT=0
while :; do
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  COUNT=$((COUNT + 1))
  REQUEST_ID=$(header Lambda-Runtime-Aws-Request-Id)
  ARN=$(header Lambda-Runtime-Invoked-Function-Arn)
  DEADLINE=$(header Lambda-Runtime-Deadline-Ms)
  TRACE=$(header Lambda-Runtime-Trace-Id)
  echo "bootstrap handled $REQUEST_ID"
  curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary \
    "{\"event\":$EVENT,\"request_id\":\"$REQUEST_ID\",\"arn\":\"$ARN\",\"deadline\":\"$DEADLINE\",\"trace\":\"$TRACE\",\"handler\":\"${_HANDLER:-}\",\"task_root\":\"${LAMBDA_TASK_ROOT:-}\",\"count\":$COUNT,\"pid\":$$}" \
    "$API/invocation/$REQUEST_ID/response" || exit 1
done
"""

# POSTs an error for events with "fail": true, a response otherwise.
ERRORS = r"""#!/bin/sh
set -u
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT
while :; do
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  REQUEST_ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d: -f2 | tr -d ' \r')
  case "$EVENT" in
    *'"fail": true'*|*'"fail":true'*)
      curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.BadThing' \
        -H 'Content-Type: application/json' --data-binary \
        '{"errorType":"Custom.BadThing","errorMessage":"the bad thing happened","stackTrace":["bootstrap line 1"]}' \
        "$API/invocation/$REQUEST_ID/error" || exit 1 ;;
    *)
      curl -sS -o /dev/null -X POST --data-binary '"fine"' \
        "$API/invocation/$REQUEST_ID/response" || exit 1 ;;
  esac
done
"""

INIT_ERROR = r"""#!/bin/sh
curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.InitFailed' \
  -H 'Content-Type: application/json' --data-binary \
  '{"errorType":"Custom.InitFailed","errorMessage":"could not load the configuration","stackTrace":[]}' \
  "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/init/error"
exit 1
"""

# Invocation 1 probes the Runtime API's request-id checks and answers normally; invocation 2
# reports what the probes saw. The probe results go to the environment's own /tmp: an
# environment that has just answered takes the next invocation, so invocation 2 finds them.
REQUEST_ID_CHECKS = r"""#!/bin/sh
set -u
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT
S="/tmp/request-id-state"
mkdir -p "$S"
post() {  # post URL BODY OUTFILE: prints the HTTP status
  curl -sS -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$2" "$1"
}
while :; do
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next") || exit 1
  REQUEST_ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d: -f2 | tr -d ' \r')
  case "$EVENT" in
    *probe*)
      post "$API/invocation/not-the-request-id/response" '"wrong"' "$S/wrong_response.body" > "$S/wrong_response.status.tmp"
      post "$API/invocation/not-the-request-id/error" '{"errorType":"X","errorMessage":"y"}' "$S/wrong_error.body" > "$S/wrong_error.status.tmp"
      post "$API/invocation/$REQUEST_ID/response" '{"first":true}' "$S/first.body" > "$S/first.status.tmp"
      post "$API/invocation/$REQUEST_ID/response" '{"second":true}' "$S/second.body" > "$S/second.status.tmp"
      post "$API/invocation/$REQUEST_ID/error" '{"errorType":"X","errorMessage":"late"}' "$S/late_error.body" > "$S/late_error.status.tmp"
      for f in wrong_response wrong_error first second late_error; do
        mv "$S/$f.status.tmp" "$S/$f.status"
      done
      touch "$S/done" ;;
    *)
      i=0
      while [ ! -f "$S/done" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
      REPORT="{"
      for f in wrong_response wrong_error first second late_error; do
        BODY=$(cat "$S/$f.body" 2>/dev/null)
        [ -n "$BODY" ] || BODY=null
        REPORT="$REPORT\"$f\":{\"status\":$(cat "$S/$f.status" 2>/dev/null || echo 0),\"body\":$BODY},"
      done
      REPORT="${REPORT%,}}"
      curl -sS -o /dev/null -X POST --data-binary "$REPORT" "$API/invocation/$REQUEST_ID/response" || exit 1 ;;
  esac
done
"""



def provided(daemon, name, bootstrap, runtime="provided.al2023", **config):
    return daemon.create(name, {"bootstrap": (bootstrap, 0o755)}, runtime=runtime,
                         handler="function.handler", **config)


@pytest.mark.parametrize("runtime", ["provided.al2023", "provided.al2", "provided"])
def test_a_shell_bootstrap_serves_invocations_through_the_runtime_api(daemon, runtime):
    name = "sh-" + runtime.replace(".", "-")
    provided(daemon, name, LOOP, runtime=runtime, Timeout=9)

    before = int(time.time() * 1000)
    status, headers, data = daemon.invoke(name, b'{"n": 1, "text": "hi"}')
    assert status == 200, data
    assert header(headers, "X-Amz-Function-Error") is None, data
    first = json.loads(data)
    assert first["event"] == {"n": 1, "text": "hi"}
    assert first["request_id"] == header(headers, "x-amzn-RequestId")
    assert first["arn"].startswith("arn:aws:lambda:")
    assert first["arn"].endswith(f":function:{name}")
    assert before + 8000 <= int(first["deadline"]) <= int(time.time() * 1000) + 9000
    assert first["trace"].startswith("Root=1-")
    assert first["handler"] == "function.handler"
    assert first["task_root"]
    assert first["count"] == 1

    # The same bootstrap process loops to the next event.
    time.sleep(0.2)
    status, headers, data = daemon.invoke(name, b'{"n": 2}')
    second = json.loads(data)
    assert second["event"] == {"n": 2}
    assert second["request_id"] == header(headers, "x-amzn-RequestId") != first["request_id"]
    assert (second["count"], second["pid"]) == (2, first["pid"])


def test_bootstrap_output_goes_to_the_log_tail(daemon):
    provided(daemon, "sh-tail", LOOP)
    status, headers, data = daemon.invoke("sh-tail", b"{}", {"X-Amz-Log-Type": "Tail"})
    assert status == 200
    log = base64.b64decode(header(headers, "X-Amz-Log-Result")).decode()
    request_id = header(headers, "x-amzn-RequestId")
    assert f"bootstrap handled {request_id}" in log
    assert log.strip().splitlines()[-1].startswith(f"REPORT RequestId: {request_id}")


def test_an_error_posted_to_the_error_endpoint_is_returned_as_unhandled(daemon):
    provided(daemon, "sh-error", ERRORS)
    status, headers, data = daemon.invoke("sh-error", b'{"fail": true}')
    assert status == 200
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    assert json.loads(data) == {"errorType": "Custom.BadThing",
                                "errorMessage": "the bad thing happened",
                                "stackTrace": ["bootstrap line 1"]}
    # The runtime carries on after reporting an error.
    time.sleep(0.2)
    status, headers, data = daemon.invoke("sh-error", b'{"fail": false}')
    assert header(headers, "X-Amz-Function-Error") is None
    assert json.loads(data) == "fine"


def test_an_init_error_posted_before_exiting_is_returned_to_the_caller(daemon):
    provided(daemon, "sh-init-error", INIT_ERROR)
    status, headers, data = daemon.invoke("sh-init-error", b"{}", timeout=30)
    assert status == 200, data
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    body = json.loads(data)
    assert body["errorType"] == "Custom.InitFailed", body
    assert body["errorMessage"] == "could not load the configuration"


def test_the_runtime_api_rejects_a_wrong_request_id_and_a_second_response(daemon):
    provided(daemon, "sh-request-ids", REQUEST_ID_CHECKS)

    status, headers, data = daemon.invoke("sh-request-ids", b'{"probe": true}')
    assert status == 200
    assert header(headers, "X-Amz-Function-Error") is None, data
    assert json.loads(data) == {"first": True}, "the first response wins"

    status, headers, data = daemon.invoke("sh-request-ids", b'{"report": true}')
    assert status == 200, data
    report = json.loads(data)
    assert report["first"]["status"] == 202
    assert report["wrong_response"]["status"] == 400
    assert report["wrong_response"]["body"]["errorType"] == "InvalidRequestID"
    assert report["wrong_error"]["status"] == 400
    assert report["wrong_error"]["body"]["errorType"] == "InvalidRequestID"
    assert report["second"]["status"] == 403
    assert report["second"]["body"]["errorType"] == "InvalidStateTransition"
    assert report["late_error"]["status"] == 403
