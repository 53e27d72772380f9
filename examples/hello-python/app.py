import json
import os


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    print(f"saying hello to {name}")
    return {
        "message": f"Hello, {name}!",
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "memory_mb": context.memory_limit_in_mb,
        "python_pid": os.getpid(),
    }
