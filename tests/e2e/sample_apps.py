"""Functions the AWS CLI and boto3 suites both deploy (the same handlers, two clients)."""

ROLE = "arn:aws:iam::000000000000:role/test"

APP = """
def handler(event, context):
    print("handled", event.get("n"))
    return {"version": 1, "event": event}
"""

APP_V2 = """
def handler(event, context):
    return {"version": 2}
"""

APP_CONFIG = """
import os

def handler(event, context):
    return {"color": os.environ.get("COLOR"),
            "memory": str(context.memory_limit_in_mb),
            "remaining_ms": context.get_remaining_time_in_millis()}
"""

APP_FAILS = """
class Boom(Exception):
    pass

def handler(event, context):
    raise Boom("it went wrong")
"""
