"""The python handlers of the benchmark: on lambent (python3.11) and in the direct baseline."""
import time


def noop(event, context):
    return {}


def sleep100(event, context):
    time.sleep(0.1)
    return {}


def sleep3000(event, context):
    time.sleep(3)
    return {}
