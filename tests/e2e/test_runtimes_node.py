"""lambent's built-in Node.js runtime (nodejs20.x): handler styles and module formats, errors,
the context object and logs, as AWS's Node.js runtime behaves. One Python test covers the
context fields of the built-in Python runtime."""

import base64
import json
import re

import pytest

from conftest import header


def invoke_json(daemon, name, event=None, headers=None):
    status, resp_headers, body = daemon.invoke(name, json.dumps(event or {}).encode(), headers)
    assert status == 200, (status, body)
    return resp_headers, json.loads(body)


def node(daemon, name, files, handler="app.handler", **config):
    daemon.create(name, files, runtime="nodejs20.x", handler=handler, **config)


def test_a_commonjs_async_handler_returns_its_result(daemon):
    node(daemon, "node-cjs", {"app.js": """
exports.handler = async (event, context) => {
  return { greeting: `hello ${event.who}`, module: typeof require };
};
"""})
    headers, body = invoke_json(daemon, "node-cjs", {"who": "cjs"})
    assert header(headers, "X-Amz-Function-Error") is None, body
    assert body == {"greeting": "hello cjs", "module": "function"}


def test_an_esm_mjs_handler_is_imported(daemon):
    node(daemon, "node-mjs", {"app.mjs": """
import { sep } from 'node:path';
export const handler = async (event) => ({ esm: typeof require === 'undefined', sep, n: event.n + 1 });
"""})
    headers, body = invoke_json(daemon, "node-mjs", {"n": 41})
    assert header(headers, "X-Amz-Function-Error") is None, body
    assert body == {"esm": True, "sep": "/", "n": 42}


def test_an_esm_js_handler_under_package_type_module_is_imported(daemon):
    node(daemon, "node-esm-js", {
        "package.json": json.dumps({"type": "module"}),
        "app.js": """
import { basename } from 'node:path';
export const handler = async () => ({ esm: typeof require === 'undefined', file: basename(import.meta.url) });
""",
    })
    headers, body = invoke_json(daemon, "node-esm-js")
    assert header(headers, "X-Amz-Function-Error") is None, body
    assert body == {"esm": True, "file": "app.js"}


def test_a_sync_callback_handler_returns_what_it_passes_to_the_callback(daemon):
    node(daemon, "node-callback", {"app.js": """
exports.handler = (event, context, callback) => {
  callback(null, { via: 'callback', doubled: event.n * 2 });
};
"""})
    headers, body = invoke_json(daemon, "node-callback", {"n": 21})
    assert header(headers, "X-Amz-Function-Error") is None, body
    assert body == {"via": "callback", "doubled": 42}


def test_a_thrown_error_is_unhandled_with_its_name_and_message(daemon):
    node(daemon, "node-throws", {"app.js": """
class ValidationError extends Error {
  constructor(message) { super(message); this.name = 'ValidationError'; }
}
exports.handler = async (event) => { throw new ValidationError(`bad input ${event.n}`); };
"""})
    status, headers, data = daemon.invoke("node-throws", b'{"n": 5}')
    assert status == 200
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    body = json.loads(data)
    assert body["errorType"] == "ValidationError"
    assert body["errorMessage"] == "bad input 5"
    # The environment survives a handled-by-runtime error: the next call works too.
    status, headers, data = daemon.invoke("node-throws", b'{"n": 6}')
    assert json.loads(data)["errorMessage"] == "bad input 6"


def test_a_handler_in_a_subdirectory_is_found(daemon):
    node(daemon, "node-subdir", {"src/app.js": """
exports.handler = async () => ({ where: __filename.split('/').slice(-2).join('/') });
"""}, handler="src/app.handler")
    headers, body = invoke_json(daemon, "node-subdir")
    assert header(headers, "X-Amz-Function-Error") is None, body
    assert body == {"where": "src/app.js"}


def test_the_context_carries_function_name_request_id_and_remaining_time(daemon):
    node(daemon, "node-context", {"app.js": """
exports.handler = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: String(context.memoryLimitInMB),
  awsRequestId: context.awsRequestId,
  invokedFunctionArn: context.invokedFunctionArn,
  logGroupName: context.logGroupName,
  remaining: context.getRemainingTimeInMillis(),
});
"""}, Timeout=7, MemorySize=256)
    headers, body = invoke_json(daemon, "node-context")
    assert body["functionName"] == "node-context"
    assert body["functionVersion"] == "$LATEST"
    assert body["memoryLimitInMB"] == "256"
    assert body["awsRequestId"] == header(headers, "x-amzn-RequestId")
    assert body["invokedFunctionArn"].endswith(":function:node-context")
    assert body["logGroupName"] == "/aws/lambda/node-context"
    assert 0 < body["remaining"] <= 7000


def test_console_log_output_appears_in_the_log_tail(daemon):
    node(daemon, "node-console", {"app.js": """
exports.handler = async (event, context) => {
  console.log('log line', event.marker);
  console.error('error line');
  return 'ok';
};
"""})
    status, headers, data = daemon.invoke("node-console", b'{"marker": "m-123"}',
                                          {"X-Amz-Log-Type": "Tail"})
    assert status == 200 and json.loads(data) == "ok"
    log = base64.b64decode(header(headers, "X-Amz-Log-Result")).decode()
    request_id = header(headers, "x-amzn-RequestId")
    assert log.startswith(f"START RequestId: {request_id}")
    # Node's runtime format: "<time>\t<request id>\t<LEVEL>\t<message>"
    info = [line for line in log.splitlines() if "log line m-123" in line]
    assert info, log
    assert info[0].split("\t")[1:4] == [request_id, "INFO", "log line m-123"]
    assert any("\tERROR\terror line" in line for line in log.splitlines()), log
    assert log.strip().splitlines()[-1].startswith(f"REPORT RequestId: {request_id}")


def test_a_missing_handler_module_fails_with_runtime_import_module_error(daemon):
    node(daemon, "node-import", {"other.js": "exports.handler = async () => 1;"})
    status, headers, data = daemon.invoke("node-import", b"{}")
    assert status == 200
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    body = json.loads(data)
    assert body["errorType"] == "Runtime.ImportModuleError", body
    assert "app" in body["errorMessage"]


def test_a_module_that_requires_a_missing_package_fails_with_runtime_import_module_error(daemon):
    node(daemon, "node-import-dep", {"app.js": """
const missing = require('no-such-package-anywhere');
exports.handler = async () => missing();
"""})
    status, headers, data = daemon.invoke("node-import-dep", b"{}")
    assert header(headers, "X-Amz-Function-Error") == "Unhandled"
    body = json.loads(data)
    assert body["errorType"] == "Runtime.ImportModuleError", body
    assert "no-such-package-anywhere" in body["errorMessage"]


def test_python_context_fields_match_the_function_and_the_invocation(daemon):
    daemon.create("py-context", {"app.py": """
def handler(event, context):
    return {"function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": str(context.memory_limit_in_mb),
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "log_group_name": context.log_group_name,
            "remaining": context.get_remaining_time_in_millis()}
"""}, MemorySize=384)
    headers, body = invoke_json(daemon, "py-context")
    assert body["function_name"] == "py-context"
    assert body["function_version"] == "$LATEST"
    assert body["memory_limit_in_mb"] == "384"
    assert body["aws_request_id"] == header(headers, "x-amzn-RequestId")
    assert re.fullmatch(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:py-context",
                        body["invoked_function_arn"]), body
    assert body["log_group_name"] == "/aws/lambda/py-context"
    assert 0 < body["remaining"] <= 3000
