#!/usr/bin/env python3
"""Fuzzes a real `lambent serve` from outside and from inside an environment.

The HTTP front gets mutated requests: request lines, methods, function names with arbitrary
bytes, headers, bodies (random bytes, deep nesting, wrong JSON types, broken framing). The
Runtime API gets the same from a function's own bootstrap: every endpoint, with arbitrary
bytes in ids, bodies and headers, before and during invocations and as an init error.

The daemon must never die, must answer every request whose framing is valid, and every
Invoke must come back with Lambda's shapes (a JSON body). A failure prints the seed and the
input, so `--seed N` replays it (FUZZ_VERBOSE=1 prints every 5xx answer). Bounded by
--seconds; only loopback is used.
"""

import argparse
import base64
import json
import os
import random
import socket
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from conftest import Daemon, make_zip  # noqa: E402  (the e2e suite's daemon and zip helpers)

BOOTSTRAP = (Path(__file__).resolve().parent / "runtime_fuzzer.py").read_text()

FUNCTIONS = "/2015-03-31/functions"
METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT",
           b"BREW", b"get", b""]
PATHS = [FUNCTIONS, FUNCTIONS + "/{n}", FUNCTIONS + "/{n}/invocations", FUNCTIONS + "/{n}/configuration",
         FUNCTIONS + "/{n}/code", "/2016-08-19/account-settings", "/lambent/v1/health",
         "/lambent/v1/runtimes", "/lambent/v1/prestarted", "/lambent/v1/functions/{n}/logs?tail={q}",
         "/lambent/v1/functions/{n}/environments", "/lambent/v1/code/{n}.zip", "/{n}", "*", "/",
         # Versions, aliases, tags, concurrency (issue 11).
         FUNCTIONS + "/{n}/versions", FUNCTIONS + "/{n}/versions?Marker={q}&MaxItems={q}",
         FUNCTIONS + "/{n}/aliases", FUNCTIONS + "/{n}/aliases/{n}", FUNCTIONS + "/{n}?Qualifier={q}",
         FUNCTIONS + "/{n}/invocations?Qualifier={n}", "/2017-03-31/tags/{n}",
         "/2017-03-31/tags/{n}?tagKeys={n}&tagKeys={q}", "/2017-10-31/functions/{n}/concurrency",
         "/2019-09-30/functions/{n}/concurrency", "/2019-09-30/functions/{n}/provisioned-concurrency?Qualifier={q}",
         "/2019-09-30/functions/{n}/provisioned-concurrency?List=ALL", "/lambent/v1/status"]
HEADER_NAMES = ["Content-Type", "X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context",
                "Host", "Expect", "Connection", "Authorization", "X-Amz-Date", "Transfer-Encoding"]


class Failure(Exception):
    pass


def random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def header_value(rng):
    """Field content as HTTP allows it (visible ASCII, obs-text, spaces): must be answered."""
    choices = [b"Event", b"RequestResponse", b"DryRun", b"Tail", b"None", b"application/json",
               b"100-continue", b"close", base64.b64encode(random_bytes(rng, rng.randint(0, 64)))]
    if rng.random() < 0.5:
        return rng.choice(choices)
    return bytes(rng.choice(list(range(0x21, 0x7F)) + list(range(0x80, 0x100)) + [0x20])
                 for _ in range(rng.randint(0, 80))).strip() or b"x"


def name(rng, known):
    roll = rng.random()
    if roll < 0.3 and known:
        return urllib.parse.quote(rng.choice(known))
    if roll < 0.6:
        return urllib.parse.quote_from_bytes(random_bytes(rng, rng.randint(1, 80)), safe=b"")
    if roll < 0.8:
        return rng.choice(["%ff", "%c0%af", "%00", "..", "%2e%2e%2f", "a" * 300, "%", "%zz",
                           "arn:aws:lambda:eu-west-9:123456789012:function:x:1", "x:$LATEST"])
    return "".join(rng.choice("abcXYZ019-_:$") for _ in range(rng.randint(1, 70)))


def json_body(rng, known):
    """Control-plane and invoke documents with wrong types, odd values and hostile text."""
    values = [None, True, 0, -1, 2**63, 1.5e308, "", "x" * rng.randint(0, 5000), [], {}, [1, [2]],
              "\udcff", {"Variables": {"K": "\ud800"}}, {"Variables": [1]}, {"ZipFile": "!!!"},
              {"ZipFile": base64.b64encode(random_bytes(rng, 200)).decode()},
              {"AdditionalVersionWeights": {"1": 0.5}}, {"AdditionalVersionWeights": {"x": "y", "2": -1}},
              "1", "$LATEST", 1000000]
    keys = ["FunctionName", "Runtime", "Handler", "Role", "Code", "Timeout", "MemorySize", "Environment",
            "EphemeralStorage", "Architectures", "PackageType", "Publish", "TracingConfig", "Layers",
            "ZipFile", "RevisionId", "Description", "Network", "Tags", "Name", "FunctionVersion",
            "RoutingConfig", "CodeSha256", "ReservedConcurrentExecutions", "ProvisionedConcurrentExecutions"]
    doc = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 8))}
    if rng.random() < 0.3 and known:
        doc["FunctionName"] = rng.choice(known)
    # json.dumps with surrogates escaped, then sometimes raw non-UTF-8 bytes spliced in.
    text = json.dumps(doc).encode()
    if rng.random() < 0.3:
        at = rng.randint(0, len(text))
        text = text[:at] + random_bytes(rng, rng.randint(1, 8)) + text[at:]
    return text


def body(rng, known):
    roll = rng.random()
    if roll < 0.45:
        return json_body(rng, known)
    if roll < 0.6:
        return random_bytes(rng, rng.randint(0, 4096))
    if roll < 0.7:
        depth = rng.randint(100, 200000)
        return b"[" * depth + b"]" * (depth if rng.random() < 0.5 else 0)
    if roll < 0.8:
        return b'{"a":' * rng.randint(100, 50000)
    return b""


def structured_request(rng, known):
    """A request with valid framing and hostile content: the daemon must answer it."""
    method = rng.choice([b"GET", b"POST", b"PUT", b"DELETE"])
    path = rng.choice(PATHS).format(n=name(rng, known), q=rng.choice(["5", "-1", "x", "99999999999999"]))
    data = body(rng, known) if method in (b"POST", b"PUT") else b""
    headers = [(b"Host", b"127.0.0.1")]
    for _ in range(rng.randint(0, 4)):
        headers.append((rng.choice(HEADER_NAMES).encode(), header_value(rng)))
    headers = [(k, v) for k, v in headers if k not in (b"Transfer-Encoding", b"Expect")]
    headers.append((b"Content-Length", str(len(data)).encode()))
    lines = [method + b" " + path.encode() + b" HTTP/1.1"] + [k + b": " + v for k, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def raw_request(rng, known):
    """Anything at all: mutated framing. The daemon may close without answering, but must live."""
    base = structured_request(rng, known)
    mutations = rng.randint(1, 8)
    data = bytearray(base)
    for _ in range(mutations):
        op = rng.random()
        at = rng.randint(0, len(data))
        if op < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.getrandbits(8)
        elif op < 0.5:
            data[at:at] = random_bytes(rng, rng.randint(1, 16))
        elif op < 0.6:
            del data[at:at + rng.randint(1, 32)]
        elif op < 0.7:
            data[at:at] = rng.choice([b"\r\n", b"\n", b"\r\n\r\n", b"\x00", b":", b" ", b"\t"])
        elif op < 0.8:
            data[at:at] = b"\r\nTransfer-Encoding: " + rng.choice([b"chunked", b"gzip", b"chunked, gzip", b"x"])
        elif op < 0.9:
            data[at:at] = b"\r\nContent-Length: " + rng.choice([b"0", b"-1", b"99999999999999999999", b"1, 2", b"x"])
        else:
            data = bytearray(rng.choice(METHODS) + b" " + bytes(data[at:]))
    return bytes(data)


def exchange(port, data, timeout=10):
    """Sends `data`, half-closes, and returns what came back (b"" if the daemon just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it may refuse early and close: what it said is still readable
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def check_alive(daemon, context):
    if daemon.proc.poll() is not None:
        raise Failure(f"the daemon died ({context}); its log ends:\n{daemon.log()[-3000:]}")
    status, _, _ = daemon.request("GET", "/lambent/v1/health", timeout=10)
    if status != 200:
        raise Failure(f"health answered {status} ({context})")


def fuzz_front(daemon, rng, deadline, known, stats):
    while time.time() < deadline:
        structured = rng.random() < 0.6
        data = structured_request(rng, known) if structured else raw_request(rng, known)
        answer = exchange(daemon.port, data)
        stats["front"] += 1
        if structured and not answer.startswith(b"HTTP/1.1 "):
            check_alive(daemon, "front")
            raise Failure(f"no answer to a well-framed request: {data[:600]!r}")
        if answer.startswith(b"HTTP/1.1 5"):
            stats["front_5xx"] += 1
            if os.environ.get("FUZZ_VERBOSE"):
                print(f"5xx: {answer[:300]!r} for {data[:200]!r}")
            if b"internal error" in answer:
                raise Failure(f"a handler threw (see the daemon's log) on: {data[:600]!r}")
        if stats["front"] % 50 == 0:
            check_alive(daemon, "front")
    check_alive(daemon, "front")


def deploy_fuzz_functions(daemon):
    bootstrap = {"bootstrap": (BOOTSTRAP, 0o755)}
    for name, mode in (("fuzz-runtime", "invoke"), ("fuzz-init", "init")):
        daemon.create(name, bootstrap, runtime="provided.al2023", handler="x", Timeout=10,
                      Environment={"Variables": {"FUZZ_MODE": mode}})


def fuzz_runtime(daemon, rng, deadline, stats):
    """Each invocation asks the function's bootstrap to fuzz its own Runtime API with a seed."""
    while time.time() < deadline:
        function = "fuzz-runtime" if rng.random() < 0.8 else "fuzz-init"
        payload = json.dumps({"seed": rng.getrandbits(32), "requests": rng.randint(5, 40)}).encode()
        status, headers, answer = daemon.invoke(function, payload, timeout=40)
        stats["runtime"] += 1
        if status not in (200, 429):
            raise Failure(f"{function} payload {payload!r}: status {status}: {answer[:500]!r}")
        # A function's own response may be any bytes; an error document is always JSON.
        if status != 200 or "X-Amz-Function-Error" in headers:
            try:
                json.loads(answer)
            except ValueError:
                raise Failure(f"{function} payload {payload!r}: error not JSON: {answer[:500]!r}")
        check_alive(daemon, f"runtime {function} {payload!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambent-bin", default=str(Path(__file__).resolve().parents[2] / "build" / "bin"))
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    stats = {"front": 0, "front_5xx": 0, "runtime": 0}
    with tempfile.TemporaryDirectory(prefix="lambent-fuzz-") as tmp:
        daemon = Daemon(Path(args.lambent_bin), Path(tmp) / "data", ["--prestart", "0"]).start()
        try:
            # The front may update or delete what it knows of; the Runtime API's functions
            # are deployed after it.
            known = ["front-a", "front-b"]
            for function in known:
                daemon.create(function, {"app.py": "def handler(event, context):\n    return event\n"})
            start = time.time()
            fuzz_front(daemon, rng, start + args.seconds * 0.6, known, stats)
            deploy_fuzz_functions(daemon)
            fuzz_runtime(daemon, rng, start + args.seconds, stats)
        except Failure as e:
            print(f"FUZZ FAILURE (seed {seed}): {e}")
            print("0 passed, 1 failed")
            return 1
        finally:
            daemon.stop()
    print(f"fuzz: seed {seed}: {stats['front']} requests to the front ({stats['front_5xx']} answered 5xx), "
          f"{stats['runtime']} invocations fuzzing the Runtime API; the daemon answered all and lived")
    print("fuzz: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
