"""The urls section of the benchmark (issue 13: function URLs and response streaming), run by
bench.py on its shared daemon.

  buffered   a node no-op (nodejs20.x, 1,769 MB, `noop` of bench/handlers/node) three ways:
             GET `/noop?x=1&y=two` to its BUFFERED function URL (wrk sends the URL's Host,
             `<url-id>.lambda-url.us-east-1.localhost`), POST `{}` to the Invoke API, and GET
             `/noop?x=1&y=two` to serverless-offline's httpApi route on the same handler. wrk at
             c1 (latency, and the c1 rate), c8 and c64, the three in turns at each level.
  streaming  `chunks` of bench/handlers/node-stream (awslambda.streamifyResponse: a chunk, 100 ms,
             the rest), through a RESPONSE_STREAM function URL and InvokeWithResponseStream, one
             call of each in turns on keep-alive sockets: from sending the request to the first
             body byte, to the first payload byte (decoded; for the event stream, the first
             PayloadChunk complete) and to the end of the response, as the client sees them; the
             buffered Invoke of the same function beside them, whose first byte comes with its end.

Loopback only; every load is bounded in time and every call by a socket timeout.
"""

import base64
import io
import json
import os
import socket
import statistics
import struct
import time
import urllib.parse
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOOP = "url-noop"
STREAM = "url-stream"
QUERY = "/noop?x=1&y=two"
HANDLER_PAUSE_MS = 100
C1_ROUNDS = 3


def _zip(directory):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(directory)):
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            with open(os.path.join(directory, name), "rb") as f:
                z.writestr(info, f.read())
    return buf.getvalue()


def _create_stream_function(bench):
    bench.api.json("POST", "/2015-03-31/functions", {
        "FunctionName": STREAM, "Runtime": "nodejs20.x", "Handler": "handler.chunks",
        "Role": "arn:aws:iam::000000000000:role/bench", "MemorySize": 1769, "Timeout": 30,
        "Code": {"ZipFile": base64.b64encode(_zip(os.path.join(HERE, "handlers", "node-stream"))).decode()}})
    deadline = time.time() + 30
    while time.time() < deadline:
        if bench.api.json("GET", "/2015-03-31/functions/%s/configuration" % STREAM).get("State", "Active") == "Active":
            return
        time.sleep(0.05)


def _url_host(bench, name, mode):
    """Creates the function's URL; its Host name (without the port), or raises with the answer."""
    status, _, body = bench.api.call("POST", "/2021-10-31/functions/%s/url" % name,
                                     {"AuthType": "NONE", "InvokeMode": mode})
    if status not in (200, 201):
        raise RuntimeError("CreateFunctionUrlConfig (%s) -> %d %s"
                           % (mode, status, body[:300].decode(errors="replace")))
    return urllib.parse.urlparse(json.loads(body)["FunctionUrl"]).hostname


def _get_lua(bench):
    """post.lua's reporting with a GET and no body (a function URL's and an HTTP route's usual call)."""
    path = os.path.join(bench.work, "get.lua")
    with open(path, "w") as f:
        f.write('dofile(%r)\nwrk.method = "GET"\nwrk.body = nil\nwrk.headers["Content-Type"] = nil\n'
                % os.path.join(HERE, "lib", "post.lua"))
    return path


# ------------------------------------------------------------------------------------------
# A keep-alive HTTP/1.1 client that notes when each byte of a response arrived.
# ------------------------------------------------------------------------------------------

class TimedConnection(object):
    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.sock = None

    def _connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.received = 0   # bytes received on this connection
        self.consumed = 0   # of those, bytes parsed
        self.marks = []     # (received after a recv, its time)

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def _fill(self):
        data = self.sock.recv(65536)
        t = time.perf_counter()
        if not data:
            raise EOFError("the server closed the connection")
        self.buf += data
        self.received += len(data)
        self.marks.append((self.received, t))

    def _arrived(self, pos):
        """When the byte at connection offset pos arrived."""
        for end, t in self.marks:
            if end > pos:
                return t
        return self.marks[-1][1]

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        self.consumed += len(line) + 2
        return line

    def _take(self, n):
        """Up to n bytes (at least one): (data, offset of its first byte)."""
        if not self.buf:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        start = self.consumed
        self.consumed += len(data)
        return data, start

    def request(self, raw):
        """Sends raw (a whole request); returns status, headers, the body as [(bytes, arrival
        time of its first byte, of its last)], the send time and the time the response ended."""
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self._connect()
            self.marks = [(self.received, time.perf_counter())] if self.buf else []
            t0 = time.perf_counter()
            try:
                self.sock.sendall(raw)
                status_line = self._line()
                break
            except (EOFError, OSError):
                self.close()
                if fresh or attempt:
                    raise
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        pieces = []

        def take(n):
            data, start = self._take(n)
            pieces.append((data, self._arrived(start), self._arrived(start + len(data) - 1)))
            return len(data)

        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers
                        pass
                    break
                while size:
                    size -= take(size)
                self._line()
        elif "content-length" in headers:
            size = int(headers["content-length"])
            while size:
                size -= take(size)
        else:
            try:
                while True:
                    take(1 << 20)
            except EOFError:
                pass
            self.close()
        t_end = self._arrived(self.consumed - 1)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, pieces, t0, t_end


def _event_messages(pieces):
    """AWS event-stream messages in a body: [(event type, payload, arrival of its last byte)]."""
    data, times = b"", []
    for chunk, _, last in pieces:
        data += chunk
        times.append((len(data), last))
    out, pos = [], 0
    while pos + 12 <= len(data):
        total, header_len = struct.unpack(">II", data[pos:pos + 8])
        if pos + total > len(data):
            break
        headers, h, end = {}, pos + 12, pos + 12 + header_len
        while h < end:
            n = data[h]
            name = data[h + 1:h + 1 + n].decode()
            kind = data[h + 1 + n]
            h += 2 + n
            if kind in (6, 7):
                length = struct.unpack(">H", data[h:h + 2])[0]
                headers[name] = data[h + 2:h + 2 + length]
                h += 2 + length
            else:
                h += {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}[kind]
        payload = data[end:pos + total - 4]
        arrived = next(t for n, t in times if n >= pos + total)
        out.append(((headers.get(":event-type") or b"").decode(), payload, arrived))
        pos += total
    return out


def _stream_call(conn, raw, event_stream):
    status, headers, pieces, t0, t_end = conn.request(raw)
    body = b"".join(p[0] for p in pieces)
    if status != 200:
        raise RuntimeError("%d %s" % (status, body[:300].decode(errors="replace")))
    first_byte = (pieces[0][1] - t0) * 1000.0 if pieces else None
    if event_stream:
        messages = _event_messages(pieces)
        chunks = [m for m in messages if m[0] == "PayloadChunk" and m[1]]
        complete = [m for m in messages if m[0] == "InvokeComplete"]
        if not chunks or not complete:
            raise RuntimeError("event stream without PayloadChunk or InvokeComplete: %r" % body[:300])
        if b"ErrorCode" in complete[0][1]:
            raise RuntimeError("InvokeComplete reports an error: %r" % complete[0][1][:300])
        payload = b"".join(m[1] for m in chunks)
        first_payload = (chunks[0][2] - t0) * 1000.0
    else:
        payload = body
        first_payload = first_byte
    if payload != b"first\nrest\n":
        raise RuntimeError("unexpected streamed payload %r" % payload[:200])
    return {"first_byte_ms": first_byte, "first_payload_ms": first_payload, "end_ms": (t_end - t0) * 1000.0}


def _stats(values):
    v = sorted(values)
    if not v:
        return None
    return {"n": len(v), "p50": round(statistics.median(v), 2),
            "p99": round(v[max(0, min(len(v) - 1, int(round(0.99 * len(v) + 0.5)) - 1))], 2),
            "min": round(v[0], 2), "max": round(v[-1], 2)}


def _wrk(bench, script, url, connections, threads, seconds, label, headers):
    """bench's wrk run with the given script (its run counter numbers the logs of both scripts)."""
    saved, bench.wrk.script = bench.wrk.script, script
    try:
        return bench.wrk.run(url, connections, threads, seconds, label, headers=headers)
    finally:
        bench.wrk.script = saved


def _check(label, url, headers, method):
    """One call: the target answers 200 (the handler's result, kept in the results)."""
    parsed = urllib.parse.urlparse(url)
    target = parsed.path + ("?" + parsed.query if parsed.query else "")
    host = headers[0][len("Host: "):] if headers else parsed.netloc
    raw = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, target, host)
    raw += "Content-Length: 2\r\n\r\n{}" if method == "POST" else "\r\n"
    c = TimedConnection(parsed.port)
    try:
        status, _, pieces, _, _ = c.request(raw.encode())
    finally:
        c.close()
    body = b"".join(p[0] for p in pieces)
    if status != 200:
        raise RuntimeError("urls: %s answered %d %r" % (label, status, body[:200]))
    return body[:100].decode(errors="replace")


def buffered(bench, log, quick, wait_port):
    lat_s = 1 if quick else 4
    rounds = 1 if quick else C1_ROUNDS
    tput_s = 1 if quick else 3
    bench.create(NOOP, "node")
    host = _url_host(bench, NOOP, "BUFFERED")
    get = _get_lua(bench)
    base = "http://127.0.0.1:%d" % bench.port
    targets = [("url", get, base + QUERY, ("Host: " + host,)),
               ("invoke", bench.wrk.script, bench.invoke_url(NOOP), ())]
    out = {"latency_seconds": lat_s, "c1_rounds": rounds, "throughput_seconds": tput_s, "levels": [1, 8, 64],
           "query": QUERY,
           "url_host": "<url-id>.lambda-url.us-east-1.localhost", "rows": {}}
    peer = bench.start_peer()
    if peer and peer.get("http_port"):
        targets.append(("peer_http", get, "http://127.0.0.1:%d%s" % (peer["http_port"], QUERY), ()))
    elif peer is False:
        out["peer_error"] = bench.results.get("peer_error", "serverless-offline did not start")
    for label, script, url, headers in targets:
        if label == "peer_http":
            wait_port(peer["http_port"], None, 30)
        out.setdefault("sample_body", {})[label] = _check(label, url, headers, "GET" if script == get else "POST")
    # c1 in rounds, the targets in turns: other work on the machine comes and goes within
    # seconds, and the median round's figures are the ones a burst of it did not decide.
    levels = [1] * rounds + out["levels"][1:]
    for i, c in enumerate(levels):
        threads = bench.wrk_threads(c)
        for label, script, url, headers in targets:
            tag = "urls-%s-c%d%s" % (label, c, "-%d" % i if c == 1 else "")
            if c != 1 or i == 0:
                _wrk(bench, script, url, c, threads, 1, "warmup-" + tag, headers)
            r = _wrk(bench, script, url, c, threads, lat_s if c == 1 else tput_s, tag, headers)
            row = out["rows"].setdefault(label, {})
            if c == 1:
                row.setdefault("1_rounds", []).append(r)
                ranked = sorted(row["1_rounds"], key=lambda x: x["latency_us"]["p50"])
                row["1"] = ranked[(len(ranked) - 1) // 2]
            else:
                row[str(c)] = r
            log("urls %-9s c%-3d %8.0f/s  p50 %d us p99 %d us errors %d"
                % (label, c, r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"], r["non_2xx_or_socket_errors"]))
    return out


def streaming(bench, log, quick):
    n = 10 if quick else 50
    _create_stream_function(bench)
    out = {"calls_each": n, "handler_pause_ms": HANDLER_PAUSE_MS, "rows": {}, "errors": {}}
    paths = [("invoke_stream", ("POST /2021-11-15/functions/%s/response-streaming-invocations HTTP/1.1\r\n"
                                "Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                "\r\n{}" % (STREAM, bench.port)).encode(), True),
             # The same function through the buffered Invoke: its first byte only comes with the end.
             ("invoke", ("POST /2015-03-31/functions/%s/invocations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                         % (STREAM, bench.port)).encode(), False)]
    try:
        host = _url_host(bench, STREAM, "RESPONSE_STREAM")
        paths.insert(0, ("url", ("GET /stream?x=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode(), False))
    except RuntimeError as e:
        out["errors"]["url"] = str(e)[:300]
    conns = dict((label, TimedConnection(bench.port)) for label, _, _ in paths)
    samples = dict((label, []) for label, _, _ in paths)
    try:
        for i in range(3 + n):  # three warm-up calls each, not counted
            for label, raw, event_stream in list(paths):
                try:
                    r = _stream_call(conns[label], raw, event_stream)
                except (RuntimeError, EOFError, OSError, ValueError) as e:
                    # A path the daemon cannot serve yet: the others go on, the report says why.
                    out["errors"][label] = str(e)[:300] or type(e).__name__
                    paths.remove((label, raw, event_stream))
                    samples.pop(label)
                    continue
                if i >= 3:
                    samples[label].append(r)
    finally:
        for c in conns.values():
            c.close()
    for label, rows in samples.items():
        row = dict((k, _stats([r[k] for r in rows])) for k in ("first_byte_ms", "first_payload_ms", "end_ms"))
        # The first chunk counts as streamed when it arrived at least half the handler's pause
        # before the end.
        row["first_before_end"] = sum(1 for r in rows if r["end_ms"] - r["first_payload_ms"] >= HANDLER_PAUSE_MS / 2)
        out["rows"][label] = row
        log("urls stream %-13s first payload byte p50 %.2f p99 %.2f ms, end p50 %.2f p99 %.2f ms, "
            "first before end in %d of %d"
            % (label, row["first_payload_ms"]["p50"], row["first_payload_ms"]["p99"], row["end_ms"]["p50"],
               row["end_ms"]["p99"], row["first_before_end"], n))
    for label, error in out["errors"].items():
        log("urls stream %-13s not measured: %s" % (label, error))
    return out


def run(bench, log, quick, wait_port):
    out = {"buffered": buffered(bench, log, quick, wait_port)}
    # Free the no-op's environments (c64 made dozens) before the stream runs and later sections.
    bench.retire(NOOP, "after-urls")
    time.sleep(0.5)
    out["streaming"] = streaming(bench, log, quick)
    return out


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

LABELS = {"url": "function URL, BUFFERED (GET by Host)", "invoke": "Invoke API (POST `{}`)",
          "peer_http": "serverless-offline, httpApi route (GET)"}
STREAM_LABELS = {"url": "function URL, RESPONSE_STREAM (GET by Host)",
                 "invoke_stream": "InvokeWithResponseStream (event stream)",
                 "invoke": "Invoke (buffered), the same function"}


def _us(run, q):
    return "{:,}".format(run["latency_us"][q]) if run else "–"


def render(section):
    if not section:
        return []
    b = section["buffered"]
    lines = ["## Issue 13: function URLs and response streaming", "",
             "A node no-op (nodejs20.x, 1,769 MB, `noop` of `bench/handlers/node/handler.js`) three ways: `GET %s` "
             "to its BUFFERED function URL, addressed by Host (`%s`, as a browser would send it), POST `{}` to the "
             "Invoke API, and `GET %s` to serverless-offline's httpApi route on the same handler (`bench/peer/`). "
             "wrk closed loop, a 1 s warm-up before each level; c1 (the warm latency) %d × %d s, the three in "
             "turns, and the round with the median p50 shown (every round's p50 beside it); then c8 and c64 for %d s "
             "each, the three in turns. Latency in microseconds.%s"
             % (b["query"], b["url_host"], b["query"], b.get("c1_rounds", 1), b["latency_seconds"],
                b["throughput_seconds"],
                " Cores busy just before the section (other work on the machine): %d%%."
                % round(100 * section["cpu_busy_before"]) if "cpu_busy_before" in section else ""), "",
             "| path | c1 p50 | p50 of each round | c1 p99 | c1 /s | c8 /s | c64 /s | c64 p50 | c64 p99 | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in ("url", "invoke", "peer_http"):
        row = b["rows"].get(key)
        if not row:
            continue
        c1, c8, c64 = row.get("1"), row.get("8"), row.get("64")

        def rate(r):
            return "{:,}".format(int(round(r["rps"]))) if r else "–"
        runs = row.get("1_rounds") or [c1]
        errors = sum(r["non_2xx_or_socket_errors"] for r in runs + [c8 or {}, c64 or {}] if r)
        each = ", ".join("{:,}".format(r["latency_us"]["p50"]) for r in runs)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |"
                     % (LABELS[key], _us(c1, "p50"), each, _us(c1, "p99"), rate(c1), rate(c8), rate(c64),
                        _us(c64, "p50"), _us(c64, "p99"), errors))
    if b.get("peer_error"):
        lines += ["", "serverless-offline: not measured (%s)." % b["peer_error"]]
    lines += ["", "The URL's request becomes a payload 2.0 event (headers, query string, request context) and its "
              "result an HTTP response, work the Invoke API does not do; serverless-offline builds the same event "
              "and runs the handler inside its own node process, with no isolation.", ""]
    st = section.get("streaming") or {}
    lines += ["A streamed response: `chunks` of `bench/handlers/node-stream/handler.js` "
              "(`awslambda.streamifyResponse`) writes `first`, waits %d ms, writes `rest` and ends. A python client "
              "on keep-alive sockets, %d warm calls through each path in turns, timed from sending the request: to "
              "the first payload byte (for the event stream, the first `PayloadChunk` message whole), and to the end "
              "of the response (the terminal chunk). The buffered Invoke of the same function is the contrast: its "
              "first byte comes with the end. Milliseconds; with %d calls the p99 is the slowest."
              % (HANDLER_PAUSE_MS, st.get("calls_each", 0), st.get("calls_each", 0)), "",
              "| path | first payload byte p50 | p99 | end p50 | p99 | first chunk ≥ %d ms before the end |"
              % (HANDLER_PAUSE_MS // 2), "|---|---:|---:|---:|---:|---:|"]
    for key in ("url", "invoke_stream", "invoke"):
        row = (st.get("rows") or {}).get(key)
        if row:
            lines.append("| %s | %.2f | %.2f | %.2f | %.2f | %d of %d |"
                         % (STREAM_LABELS[key], row["first_payload_ms"]["p50"], row["first_payload_ms"]["p99"],
                            row["end_ms"]["p50"], row["end_ms"]["p99"], row["first_before_end"], st["calls_each"]))
        elif key in (st.get("errors") or {}):
            lines.append("| %s | not measured: %s | | | | |"
                         % (STREAM_LABELS[key], st["errors"][key].replace("|", "\\|").replace("\n", " ")))
    lines.append("")
    return lines
