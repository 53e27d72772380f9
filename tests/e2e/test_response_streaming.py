"""Response streaming: InvokeWithResponseStream decoded by the unmodified npm
@aws-sdk/client-lambda and raw by botocore's event-stream parser (which checks every CRC),
RESPONSE_STREAM function URLs read as the bytes arrive (http.client and curl -N), buffered
Invoke of a streaming function, AWS's own aws-lambda-ric streaming through lambent's Runtime
API, and the 20 MiB cap. Debian's boto3 and AWS CLI predate InvokeWithResponseStream, hence
the JS SDK. One daemon serves the whole module to keep it quick.

The SDK is installed once per build tree by fixtures/install_npm_package.sh into
build/e2e-cache/lambda-client (set LAMBENT_LAMBDA_CLIENT_CACHE to use another directory)."""

import base64
import http.client
import json
import os
import re
import select
import subprocess
import time

import pytest

import npm_clients
from conftest import REPO, Daemon, header
from lambda_clients import lambda_client
from test_aws_lambda_ric import BOOTSTRAP as RIC_BOOTSTRAP, ric_files  # noqa: F401

from botocore.eventstream import EventStreamBuffer

HERE = REPO / "tests" / "e2e"
EVENT_STREAM = "application/vnd.amazon.eventstream"
# How long the slow handlers pause between their first and their last write.
PAUSE_S = 1.5

# One streaming handler, its behaviour picked by event.mode (Invoke) or the URL's path.
STREAMING_APP = r"""
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const mode = event.mode ?? (event.rawPath ?? '/').slice(1);
  console.log('streaming', mode);
  if (mode === 'slow') {
    responseStream.setContentType('text/plain');
    responseStream.write('a');
    await sleep(PAUSE_MS);
    responseStream.write('b');
  } else if (mode === 'parts') {
    for (const part of ['one,', 'two,', 'three']) responseStream.write(part);
  } else if (mode === 'throw') {
    responseStream.write('before ');
    await sleep(200);
    throw new Error('mid-stream boom');
  } else if (mode === 'hang') {
    responseStream.write('started');
    await sleep(5000);
  } else if (mode === 'early') {
    throw new TypeError('nothing written');
  } else if (mode === 'http') {
    const stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-Streamed': 'yes' },
      cookies: ['a=1; Path=/', 'b=2'],
    });
    stream.write('first ');
    await sleep(PAUSE_MS);
    stream.write('second');
    stream.end();
    return;
  } else if (mode === 'plain') {
    responseStream.setContentType('text/html');
    responseStream.write('<p>plain</p>');
  } else if (mode === 'big') {
    // Past the 20 MiB cap; stops writing once lambent has cut the stream.
    const mib = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 21 && !responseStream.destroyed; i++) {
      if (!responseStream.write(mib)) {
        await new Promise((resolve) => {
          for (const e of ['drain', 'error', 'close']) responseStream.once(e, resolve);
        });
      }
    }
  }
  responseStream.end();
});
""".replace("PAUSE_MS", str(int(PAUSE_S * 1000)))

BUFFERED_APP = """
def handler(event, context):
    return {"whole": "result", "n": event.get("n")}
"""

RIC_APP = r"""
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.write('ric-a,');
  await new Promise((resolve) => setTimeout(resolve, 300));
  responseStream.write('ric-b');
  responseStream.end();
});
"""


@pytest.fixture(scope="module")
def daemon(bin_dir, tmp_path_factory):
    d = Daemon(bin_dir, tmp_path_factory.mktemp("streaming") / "data").start()
    d.create("streamer", {"app.mjs": STREAMING_APP}, runtime="nodejs20.x", Timeout=20)
    d.create("streamer-1s", {"app.mjs": STREAMING_APP}, runtime="nodejs20.x", Timeout=1)
    d.create("buffered", {"app.py": BUFFERED_APP})
    yield d
    d.stop()


@pytest.fixture(scope="module")
def client_dir(request):
    return npm_clients.install(request, "@aws-sdk/client-lambda", "3.1164.0", "lambda-client",
                               "LAMBENT_LAMBDA_CLIENT_CACHE")


@pytest.fixture(scope="module")
def sdk(client_dir, daemon):
    """Runs InvokeWithResponseStream calls through the JS SDK; one result per call."""
    def run(calls):
        proc = subprocess.run(
            ["node", str(HERE / "stream_client.mjs"), client_dir, daemon.endpoint],
            input=json.dumps(calls), capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
        return json.loads(proc.stdout)
    return run


def ok(result):
    assert "ok" in result, result
    return result["ok"]


def chunks(result):
    return [base64.b64decode(e["data"]) for e in result["events"] if e["type"] == "PayloadChunk"]


def completion(result):
    """The InvokeComplete event, which must end the stream and come once."""
    assert result["events"] and result["events"][-1]["type"] == "InvokeComplete", result["events"]
    assert [e["type"] for e in result["events"]].count("InvokeComplete") == 1
    return result["events"][-1]


def raw_stream(daemon, name, payload=b"{}", headers=None):
    """(status, headers, events) of a raw InvokeWithResponseStream; events are (seconds since
    the request, headers, payload) as botocore's parser found them (it checks the CRCs), or
    the error body when the answer is not a stream."""
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    start = time.monotonic()
    conn.request("POST", f"/2021-11-15/functions/{name}/response-streaming-invocations",
                 body=payload, headers=headers or {})
    response = conn.getresponse()
    got = dict(response.getheaders())
    if response.status != 200 or header(got, "Content-Type") != EVENT_STREAM:
        body = response.read()
        conn.close()
        return response.status, got, body
    buffer, events = EventStreamBuffer(), []
    while data := response.read1(65536):
        buffer.add_data(data)
        events.extend((time.monotonic() - start, m.headers, m.payload) for m in buffer)
    conn.close()
    return response.status, got, events


# --- InvokeWithResponseStream through @aws-sdk/client-lambda ---------------------------------

def test_the_sdk_decodes_chunks_as_written_a_log_tail_errors_and_a_timeout(sdk):
    slow, throw, early, hang = sdk([
        {"FunctionName": "streamer", "Payload": {"mode": "slow"}, "LogType": "Tail"},
        {"FunctionName": "streamer", "Payload": {"mode": "throw"}},
        {"FunctionName": "streamer", "Payload": {"mode": "early"}},
        {"FunctionName": "streamer-1s", "Payload": {"mode": "hang"}},
    ])
    slow = ok(slow)
    assert slow["statusCode"] == 200 and slow["executedVersion"] == "$LATEST"
    assert b"".join(chunks(slow)) == b"ab"
    first = next(e for e in slow["events"] if e["type"] == "PayloadChunk")
    assert base64.b64decode(first["data"]) == b"a"
    # The first chunk left while the handler was still sleeping.
    assert first["ms"] < slow["ms"] - PAUSE_S * 1000 * 0.6, slow["events"]
    done = completion(slow)
    assert not done.get("ErrorCode"), done
    log = base64.b64decode(done["LogResult"]).decode()
    for line in ("START RequestId:", "END RequestId:", "REPORT RequestId:", "streaming slow"):
        assert line in log, log

    throw = ok(throw)
    assert b"".join(chunks(throw)) == b"before "
    done = completion(throw)
    assert done["ErrorCode"] == "Error", done
    assert "mid-stream boom" in done["ErrorDetails"], done

    early = ok(early)
    assert chunks(early) == []
    done = completion(early)
    assert done["ErrorCode"] == "TypeError" and "nothing written" in done["ErrorDetails"], done

    hang = ok(hang)
    assert b"".join(chunks(hang)) == b"started"
    assert completion(hang)["ErrorCode"] == "Sandbox.Timedout", hang


# --- raw InvokeWithResponseStream ------------------------------------------------------------

def test_the_raw_stream_is_framed_as_aws_event_stream_messages(daemon):
    status, headers, events = raw_stream(daemon, "streamer", b'{"mode": "parts"}',
                                         {"X-Amz-Log-Type": "Tail"})
    assert status == 200, (headers, events)
    assert header(headers, "Content-Type") == EVENT_STREAM
    assert header(headers, "X-Amz-Executed-Version") == "$LATEST"
    assert header(headers, "x-amzn-RequestId")
    kinds = [h.get(":event-type") for _, h, _ in events]
    assert kinds[-1] == "InvokeComplete" and set(kinds[:-1]) == {"PayloadChunk"}, kinds
    assert all(h.get(":message-type") == "event" for _, h, _ in events)
    assert b"".join(p for _, h, p in events[:-1]) == b"one,two,three"
    done = json.loads(events[-1][2])
    assert "ErrorCode" not in done, done
    assert "REPORT RequestId:" in base64.b64decode(done["LogResult"]).decode()


def test_a_buffered_function_streamed_gives_one_chunk_with_its_whole_result(daemon):
    status, headers, events = raw_stream(daemon, "buffered", b'{"n": 3}')
    assert status == 200, (headers, events)
    assert [h[":event-type"] for _, h, _ in events] == ["PayloadChunk", "InvokeComplete"]
    assert json.loads(events[0][2]) == {"whole": "result", "n": 3}


def test_an_unknown_function_is_a_json_error_not_a_stream(daemon):
    status, headers, body = raw_stream(daemon, "no-such-function")
    assert status == 404, (headers, body)
    assert header(headers, "Content-Type") != EVENT_STREAM
    assert header(headers, "x-amzn-ErrorType") == "ResourceNotFoundException"
    assert json.loads(body)["message"]


# --- RESPONSE_STREAM function URLs -----------------------------------------------------------

@pytest.fixture(scope="module")
def url_host(daemon):
    status, _, raw = daemon.request("POST", "/2021-10-31/functions/streamer/url",
                                    {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"})
    assert status == 201, raw
    config = json.loads(raw)
    assert config["InvokeMode"] == "RESPONSE_STREAM"
    return re.match(r"http://([^/:]+)", config["FunctionUrl"]).group(1)


def url_get(daemon, host, path):
    """(status, headers, [(seconds since the request, body bytes)], complete): the body as
    it arrived; complete is False when the connection ended without the terminal chunk."""
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    start = time.monotonic()
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    pieces, complete = [], True
    try:
        while data := response.read1(65536):
            pieces.append((time.monotonic() - start, data))
    except http.client.IncompleteRead:
        complete = False
    conn.close()
    return response.status, response.getheaders(), pieces, complete


def test_a_streamed_url_sends_the_prelude_status_headers_and_cookies_then_the_body_as_written(
        daemon, url_host):
    status, headers, pieces, complete = url_get(daemon, url_host, "/http")
    assert status == 201, (headers, pieces)
    assert header(dict(headers), "X-Streamed") == "yes", headers
    assert header(dict(headers), "Content-Type") == "text/plain"
    assert header(dict(headers), "Transfer-Encoding") == "chunked"
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2"]
    assert complete and b"".join(p for _, p in pieces) == b"first second"
    assert pieces[0][1].startswith(b"first ")
    assert pieces[0][0] < pieces[-1][0] - PAUSE_S * 0.6, pieces


def test_curl_sees_the_first_bytes_of_a_streamed_url_before_the_function_ends(daemon, url_host):
    url_id = url_host.split(".")[0]
    start = time.monotonic()
    curl = subprocess.Popen(["curl", "-N", "-s", "-S", "--max-time", "30",
                             f"{daemon.endpoint}/lambda-url/{url_id}/http"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got, first_at = b"", None
    while True:
        ready, _, _ = select.select([curl.stdout], [], [], 30)
        assert ready, "curl printed nothing for 30 s"
        data = os.read(curl.stdout.fileno(), 65536)
        if not data:
            break
        first_at = first_at or time.monotonic() - start
        got += data
    ended_at = time.monotonic() - start
    assert curl.wait(10) == 0, curl.stderr.read()
    assert got == b"first second"
    assert first_at < ended_at - PAUSE_S * 0.6, (first_at, ended_at)


def test_a_streamed_url_without_a_prelude_and_its_error_statuses(daemon, url_host):
    status, headers, pieces, complete = url_get(daemon, url_host, "/plain")
    assert status == 200 and complete
    assert header(dict(headers), "Content-Type") == "text/html"
    assert b"".join(p for _, p in pieces) == b"<p>plain</p>"
    # Failing before the first write: nothing was sent yet, so Lambda's 502.
    assert url_get(daemon, url_host, "/early")[0] == 502
    # Failing after it: the status is out, so the body just stops short.
    status, _, pieces, complete = url_get(daemon, url_host, "/throw")
    assert status == 200 and not complete
    assert b"".join(p for _, p in pieces) == b"before "


# --- buffered Invoke of a streaming function -------------------------------------------------

def test_buffered_invoke_of_a_streaming_function_returns_the_whole_stream(daemon):
    response = lambda_client(daemon).invoke(FunctionName="streamer", Payload=b'{"mode": "parts"}')
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["Payload"].read() == b"one,two,three"


# --- AWS's aws-lambda-ric ---------------------------------------------------------------------

def test_aws_lambda_ric_streams_through_the_runtime_api(daemon, sdk, ric_files):  # noqa: F811
    files = {**ric_files, "bootstrap": (RIC_BOOTSTRAP, 0o755), "app.mjs": RIC_APP}
    daemon.create("ric-streamer", files, runtime="provided.al2023", handler="app.handler",
                  Timeout=10)
    result = ok(sdk([{"FunctionName": "ric-streamer", "Payload": {}}])[0])
    assert b"".join(chunks(result)) == b"ric-a,ric-b", result
    assert not completion(result).get("ErrorCode"), result


# --- the 20 MiB cap ----------------------------------------------------------------------------

def test_a_stream_past_20_mib_ends_with_response_size_too_large(daemon, sdk):
    big = {"FunctionName": "streamer", "Payload": {"mode": "big"}, "$omitData": True}
    result = ok(sdk([big])[0])
    done = completion(result)
    assert done.get("ErrorCode") == "Function.ResponseSizeTooLarge", done
    sent = sum(e["bytes"] for e in result["events"] if e["type"] == "PayloadChunk")
    assert sent <= 20 * 1024 * 1024, sent
    # Still healthy: it serves the next stream.
    assert daemon.request("GET", "/lambent/v1/health")[0] == 200
    status, _, events = raw_stream(daemon, "streamer", b'{"mode": "parts"}')
    assert status == 200 and b"".join(p for _, h, p in events[:-1]) == b"one,two,three"
