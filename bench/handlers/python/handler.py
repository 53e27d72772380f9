"""The python handlers of the benchmark: on lambent (python3.11) and in the direct baseline."""
import os
import sys
import time


def noop(event, context):
    return {}


def sleep100(event, context):
    time.sleep(0.1)
    return {}


def sleep3000(event, context):
    time.sleep(3)
    return {}


def flood(event, context):
    """Prints event["rate"] lines a second (default 100,000), one print() each as a function's
    logging does, for event["seconds"] of wall time, paced in 10 ms batches; a writer slowed by
    its pipe simply writes fewer. With event["devnull"] the same lines go to /dev/null instead
    (the same work in the function, none for the platform). Each line carries event["label"] and
    its number, so a reader can tell floods apart and find gaps. Returns what it wrote and in how
    long."""
    out = open(os.devnull, "w", buffering=1) if event.get("devnull") else sys.stdout
    rate = int(event.get("rate", 100000))
    seconds = float(event.get("seconds", 1))
    batch = max(1, rate // 100)
    label = str(event.get("label", "a"))
    pad = "x" * 40
    n = 0
    t0 = time.monotonic()
    end = t0 + seconds
    now = t0
    while now < end:
        due = min(int((now - t0) * rate) + batch, int(seconds * rate))
        while n < due:
            print("flood %s %09d %s" % (label, n, pad), file=out)
            n += 1
        now = time.monotonic()
        ahead = n / float(rate) - (now - t0)
        if ahead > 0:
            time.sleep(min(ahead, end - now) if end > now else 0)
            now = time.monotonic()
    elapsed = time.monotonic() - t0
    if out is not sys.stdout:
        out.close()
    return {"lines": n, "seconds": round(elapsed, 4)}
