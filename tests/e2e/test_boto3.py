"""boto3 (Debian's python3-boto3) against `lambent serve`: the SDK's serializers, waiters,
paginators and modeled exceptions must all work unchanged."""

import base64
import hashlib
import json

import pytest

from conftest import make_zip

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

from sample_apps import APP, APP_CONFIG, APP_FAILS, APP_V2, ROLE  # noqa: E402


APP_CLIENT_CONTEXT = """
def handler(event, context):
    cc = context.client_context
    return {"custom": cc.custom if cc else None,
            "env": cc.env if cc else None,
            "installation_id": cc.client.installation_id if cc and cc.client else None}
"""

# Poll fast and give up soon: everything is local.
FAST_WAIT = {"Delay": 1, "MaxAttempts": 30}


@pytest.fixture
def client(daemon):
    return boto3.session.Session().client(
        "lambda", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60))


def create(client, name, source=APP, **extra):
    return client.create_function(FunctionName=name, Runtime="python3.11",
                                  Handler="app.handler", Role=ROLE,
                                  Code={"ZipFile": make_zip({"app.py": source})}, **extra)


def invoke_json(client, name, event=None, **extra):
    response = client.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **extra)
    return response, json.loads(response["Payload"].read())


def test_create_function_with_zip_bytes_then_the_active_waiter_succeeds(client):
    package = make_zip({"app.py": APP})
    created = client.create_function(FunctionName="b3-create", Runtime="python3.11",
                                     Handler="app.handler", Role=ROLE,
                                     Code={"ZipFile": package}, Timeout=5, MemorySize=192)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == "b3-create"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert created["CodeSize"] == len(package)
    assert (created["Timeout"], created["MemorySize"]) == (5, 192)

    client.get_waiter("function_active_v2").wait(FunctionName="b3-create", WaiterConfig=FAST_WAIT)
    got = client.get_function(FunctionName="b3-create")
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["FunctionArn"].endswith(":function:b3-create")


def test_invoke_returns_the_payload_and_status_200(client):
    create(client, "b3-invoke")
    response, body = invoke_json(client, "b3-invoke", {"n": 3, "list": [1, 2]})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body == {"version": 1, "event": {"n": 3, "list": [1, 2]}}


def test_invoke_with_log_type_tail_returns_the_base64_log(client):
    create(client, "b3-tail")
    response, _ = invoke_json(client, "b3-tail", {"n": 9}, LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    lines = log.strip().splitlines()
    assert lines[0].startswith("START RequestId: ")
    assert "handled 9" in log
    assert lines[-1].startswith("REPORT RequestId: ")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert request_id and request_id in lines[0]


def test_a_function_error_sets_function_error_unhandled(client):
    create(client, "b3-error", APP_FAILS)
    response, body = invoke_json(client, "b3-error")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Boom"
    assert body["errorMessage"] == "it went wrong"


def test_the_list_functions_paginator_with_page_size_2_sees_all_five_once(client):
    names = [f"b3-page-{i}" for i in range(5)]
    for name in names:
        create(client, name)
    pages = list(client.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 2}))
    assert [len(p["Functions"]) for p in pages] == [2, 2, 1]
    seen = [f["FunctionName"] for p in pages for f in p["Functions"]]
    assert sorted(seen) == sorted(names), "every function exactly once"
    assert "NextMarker" in pages[0] and "NextMarker" not in pages[-1]


def test_update_function_code_then_the_updated_waiter_succeeds_and_new_code_runs(client):
    create(client, "b3-code")
    _, body = invoke_json(client, "b3-code", {"n": 1})
    assert body["version"] == 1

    package = make_zip({"app.py": APP_V2})
    updated = client.update_function_code(FunctionName="b3-code", ZipFile=package)
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    client.get_waiter("function_updated_v2").wait(FunctionName="b3-code", WaiterConfig=FAST_WAIT)
    _, body = invoke_json(client, "b3-code", {"n": 2})
    assert body == {"version": 2}


def test_update_function_configuration_applies_to_the_next_invocation(client):
    create(client, "b3-config", APP_CONFIG)
    _, before = invoke_json(client, "b3-config")
    assert before["color"] is None and before["memory"] == "128"

    updated = client.update_function_configuration(
        FunctionName="b3-config", Timeout=15, MemorySize=512,
        Environment={"Variables": {"COLOR": "amber"}})
    assert (updated["Timeout"], updated["MemorySize"]) == (15, 512)
    client.get_waiter("function_updated_v2").wait(FunctionName="b3-config", WaiterConfig=FAST_WAIT)

    config = client.get_function_configuration(FunctionName="b3-config")
    assert config["Environment"]["Variables"] == {"COLOR": "amber"}
    _, after = invoke_json(client, "b3-config")
    assert after["color"] == "amber"
    assert after["memory"] == "512"
    assert 3000 < after["remaining_ms"] <= 15000


def test_delete_function_then_getting_it_raises_resource_not_found(client):
    create(client, "b3-delete")
    deleted = client.delete_function(FunctionName="b3-delete")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="b3-delete")


def test_a_missing_function_raises_resource_not_found_for_get_and_invoke(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as got:
        client.get_function(FunctionName="b3-nothing-here")
    assert got.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="b3-nothing-here", Payload=b"{}")


def test_creating_a_duplicate_function_raises_resource_conflict(client):
    create(client, "b3-twice")
    with pytest.raises(client.exceptions.ResourceConflictException) as got:
        create(client, "b3-twice")
    assert got.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_an_unknown_runtime_raises_invalid_parameter_value(client):
    with pytest.raises(client.exceptions.InvalidParameterValueException) as got:
        client.create_function(FunctionName="b3-bad-runtime", Runtime="cobol85",
                               Handler="app.handler", Role=ROLE,
                               Code={"ZipFile": make_zip({"app.py": APP})})
    assert got.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="b3-bad-runtime")


def test_a_client_context_reaches_the_handler_as_context_client_context(client):
    create(client, "b3-client-context", APP_CLIENT_CONTEXT)
    client_context = {"custom": {"tenant": "acme", "depth": 2},
                      "env": {"platform": "test"},
                      "client": {"installation_id": "install-1"}}
    encoded = base64.b64encode(json.dumps(client_context).encode()).decode()
    response, body = invoke_json(client, "b3-client-context", ClientContext=encoded)
    assert "FunctionError" not in response, body
    assert body == {"custom": {"tenant": "acme", "depth": 2},
                    "env": {"platform": "test"},
                    "installation_id": "install-1"}
