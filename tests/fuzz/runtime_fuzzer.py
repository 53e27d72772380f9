#!/usr/bin/python3
"""A function bootstrap that fuzzes its own Runtime API (run by fuzz_daemon.py).

FUZZ_MODE=init: reports an init error with arbitrary bytes, then exits.
FUZZ_MODE=invoke: for each event {"seed", "requests"}, sends that many mutated requests to
every Runtime API endpoint (arbitrary ids, bodies, headers; abandoned long polls; streamed
responses with broken chunking, preludes and trailers), then
answers the invocation with an error document of arbitrary bytes.
"""
import json
import os
import random
import socket
import sys

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
PORT = int(PORT)
PREFIX = b"/2018-06-01/runtime"


def obs_text(rng, n):
    return bytes(rng.choice(list(range(0x21, 0x7F)) + list(range(0x80, 0x100))) for _ in range(n))


def send(method, path, body=b"", headers=(), wait=5.0):
    """One request on its own connection; returns the raw answer (or b"" on a timeout)."""
    s = socket.create_connection((HOST, PORT), timeout=wait)
    try:
        head = [method + b" " + path + b" HTTP/1.1", b"Host: runtime"]
        head += [k + b": " + v for k, v in headers]
        head.append(b"Content-Length: " + str(len(body)).encode())
        s.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head_end = data.index(b"\r\n\r\n") + 4
                length = 0
                for line in data[:head_end].split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if len(data) >= head_end + length:
                    return data
        return data
    except (socket.timeout, OSError):
        return b""
    finally:
        s.close()


def send_streamed(rng, path):
    """A streaming-mode response: chunked, with pieces, sizes and trailers that may be wrong."""
    pieces = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.3:
        prelude = json.dumps({"statusCode": rng.choice([200, 99, "x", None, 700]),
                              "headers": {obs_text(rng, 5).decode("latin-1"): obs_text(rng, 8).decode("latin-1")},
                              "cookies": [rng.choice(["a=1", 5, None])]}).encode()
        pieces.insert(0, prelude + rng.choice([b"\0" * 8, b"\0" * 3, b""]))
    content_type = rng.choice([b"application/vnd.awslambda.http-integration-response", b"application/octet-stream",
                               b"text/plain", obs_text(rng, 20)])
    head = [b"POST " + path + b" HTTP/1.1", b"Host: runtime", b"Transfer-Encoding: chunked",
            b"Lambda-Runtime-Function-Response-Mode: " + rng.choice([b"streaming", b"STREAMING", b"buffered"]),
            b"Content-Type: " + content_type]
    body = b""
    for piece in pieces:
        size = len(piece) if rng.random() < 0.9 else rng.randint(0, 1 << 20)
        body += b"%x\r\n" % size + piece + b"\r\n"
    trailers = b""
    if rng.random() < 0.4:
        trailers += b"Lambda-Runtime-Function-Error-Type: " + obs_text(rng, 20) + b"\r\n"
        trailers += b"Lambda-Runtime-Function-Error-Body: " + rng.choice([obs_text(rng, 30), b"eyJ4Ijog"]) + b"\r\n"
    body += rng.choice([b"0\r\n" + trailers + b"\r\n", b"", b"zz\r\n"])
    # A body left unfinished is waited for (a runtime may stream for minutes): give up soon.
    s = socket.create_connection((HOST, PORT), timeout=0.3)
    try:
        s.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        s.recv(65536)
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()


def next_event():
    answer = send(b"GET", PREFIX + b"/invocation/next", wait=None)
    head, _, body = answer.partition(b"\r\n\r\n")
    request_id = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"lambda-runtime-aws-request-id:"):
            request_id = line.split(b":", 1)[1].strip()
    return request_id, body


def fuzz_request(rng, request_id):
    ids = [request_id, b"", b"x", b"..", b"%ff", obs_text(rng, rng.randint(1, 40)), request_id + b"/x"]
    endpoint = rng.choice([b"/invocation/next", b"/invocation/%s/response", b"/invocation/%s/error",
                           b"/init/error", b"/invocation/%s", b"/", b"/invocation/%s/error/x"])
    if b"%s" in endpoint:
        endpoint = endpoint.replace(b"%s", rng.choice(ids))
    if rng.random() < 0.2:
        return send_streamed(rng, PREFIX + b"/invocation/" + rng.choice(ids) + b"/response")
    method = rng.choice([b"POST", b"POST", b"GET", b"PUT", b"DELETE"])
    roll = rng.random()
    if roll < 0.4:
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))
    elif roll < 0.6:
        body = json.dumps({"errorMessage": "x" * rng.randint(0, 100), "errorType": rng.choice([1, None, "T", []])}).encode()
    elif roll < 0.7:
        body = b"[" * rng.randint(1, 100000)
    elif roll < 0.75:
        body = b"x" * rng.randint(1 << 20, 2 << 20)
    else:
        body = b""
    headers = []
    if rng.random() < 0.6:
        headers.append((b"Lambda-Runtime-Function-Error-Type", obs_text(rng, rng.randint(1, 60))))
    if rng.random() < 0.2:
        headers.append((b"Lambda-Runtime-Function-Error-Body", obs_text(rng, rng.randint(1, 60))))
    # A long poll given up on after a moment: the daemon must not send an event there.
    wait = 0.2 if endpoint.endswith(b"/next") else 5.0
    send(method, PREFIX + endpoint, body, headers, wait)


def main():
    rng = random.Random()
    if os.environ.get("FUZZ_MODE") == "init":
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 512)))
        send(b"POST", PREFIX + b"/init/error", body,
             [(b"Lambda-Runtime-Function-Error-Type", obs_text(rng, rng.randint(1, 40)))])
        sys.exit(1)
    while True:
        request_id, event = next_event()
        try:
            spec = json.loads(event)
            rng.seed(int(spec["seed"]))
            count = int(spec["requests"])
        except (ValueError, KeyError, TypeError):
            count = 0
        for _ in range(count):
            fuzz_request(rng, request_id)
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 256)))
        send(b"POST", PREFIX + b"/invocation/" + request_id + b"/error", body,
             [(b"Lambda-Runtime-Function-Error-Type", obs_text(rng, rng.randint(1, 40)))])


main()
