"""Aliases through the Lambda API, boto3 and the AWS CLI v2: Create/Get/Update/Delete/
ListAliases, invoking by alias (the executed version reported per call), weighted routing
as canary deploys use it, RevisionId preconditions, and versions an alias protects."""

import collections
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lambda_clients import (aws_cli, create_function, error_of, invoke, lambda_client,
                            update_code)


# Each version says which it is; a trivial handler keeps 2,000 calls quick.
def source(n):
    return f"def handler(event, context):\n    return {n}\n"


@pytest.fixture
def client(daemon):
    # The weighted-routing test calls from 16 threads.
    return lambda_client(daemon, max_pool_connections=32)


def with_versions(client, name, count):
    """A function with versions 1..count, version n returning n."""
    create_function(client, name, source(1), Publish=True)
    for n in range(2, count + 1):
        update_code(client, name, source(n), Publish=True)
    return client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def test_an_alias_runs_its_version_and_follows_an_update(client):
    arn = with_versions(client, "al-basic", 2)
    created = client.create_alias(FunctionName="al-basic", Name="live", FunctionVersion="1",
                                  Description="production")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == arn + ":live"
    assert (created["Name"], created["FunctionVersion"], created["Description"]) == \
        ("live", "1", "production")
    assert created["RevisionId"]
    assert "RoutingConfig" not in created

    assert invoke(client, "al-basic", Qualifier="live") == ("1", 1)
    assert invoke(client, "al-basic:live") == ("1", 1)
    assert invoke(client, arn + ":live") == ("1", 1)

    got = client.get_function(FunctionName="al-basic", Qualifier="live")["Configuration"]
    assert (got["Version"], got["FunctionArn"]) == ("1", arn + ":live")
    assert client.get_alias(FunctionName="al-basic", Name="live")["FunctionVersion"] == "1"

    updated = client.update_alias(FunctionName="al-basic", Name="live", FunctionVersion="2",
                                  RevisionId=created["RevisionId"])
    assert updated["FunctionVersion"] == "2"
    assert updated["RevisionId"] != created["RevisionId"]
    assert updated["Description"] == "production"
    assert invoke(client, "al-basic:live") == ("2", 2)

    client.delete_alias(FunctionName="al-basic", Name="live")
    status, code, message = error_of(client.get_alias, FunctionName="al-basic", Name="live")
    assert (status, code) == (404, "ResourceNotFoundException")
    assert message == f"Cannot find alias arn: {arn}:live"
    status, _, message = error_of(client.invoke, FunctionName="al-basic:live", Payload=b"{}")
    assert (status, message) == (404, f"Function not found: {arn}:live")


def test_a_weighted_alias_splits_2000_calls_within_3_percent(client):
    with_versions(client, "al-canary", 2)
    alias = client.create_alias(FunctionName="al-canary", Name="canary", FunctionVersion="1",
                                RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    # Both versions warm before counting.
    invoke(client, "al-canary:1")
    invoke(client, "al-canary:2")

    def one(_):
        executed, body = invoke(client, "al-canary:canary")
        assert body == int(executed)
        return executed

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        counts = collections.Counter(pool.map(one, range(2000)))
    elapsed = time.monotonic() - start
    assert set(counts) == {"1", "2"}, counts
    share = counts["2"] / 2000
    assert abs(share - 0.1) <= 0.03, (counts, elapsed)
    assert elapsed < 60, elapsed


def test_routing_config_is_validated_as_lambda_does(daemon, client):
    with_versions(client, "al-routes", 3)
    path = "/2015-03-31/functions/al-routes/aliases"

    def create(body):
        status, headers, data = daemon.request("POST", path, body)
        return status, headers.get("x-amzn-ErrorType"), json.loads(data) if data else {}

    status, kind, body = create({"Name": "two", "FunctionVersion": "1",
                                 "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}}})
    assert (status, kind) == (400, "InvalidParameterValueException")
    assert body["message"] == "Number of items in AdditionalVersionWeights cannot be greater than 1"
    for weights in ({"2": 1.5}, {"2": -0.1}, {"2": "0.1"}, {"two": 0.1}):
        status, kind, _ = create({"Name": "bad", "FunctionVersion": "1",
                                  "RoutingConfig": {"AdditionalVersionWeights": weights}})
        assert (status, kind) == (400, "InvalidParameterValueException"), weights
    status, kind, body = create({"Name": "self", "FunctionVersion": "1",
                                 "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}}})
    assert (status, kind) == (400, "InvalidParameterValueException")
    assert "already included in routing configuration" in body["message"]
    status, kind, _ = create({"Name": "ghost", "FunctionVersion": "1",
                              "RoutingConfig": {"AdditionalVersionWeights": {"9": 0.5}}})
    assert (status, kind) == (404, "ResourceNotFoundException")
    status, kind, _ = create({"Name": "nowhere", "FunctionVersion": "9"})
    assert (status, kind) == (404, "ResourceNotFoundException")
    status, kind, _ = create({"Name": "12", "FunctionVersion": "1"})
    assert status == 400
    for broken in (b"{not json", b"[]", json.dumps({"Name": 5, "FunctionVersion": "1"}).encode(),
                   json.dumps({"Name": "x"}).encode(),
                   json.dumps({"Name": "x", "FunctionVersion": "1", "RoutingConfig": []}).encode()):
        status, _, _ = daemon.request("POST", path, broken)
        assert status == 400, broken
    # Nothing of the refused ones was created.
    assert client.list_aliases(FunctionName="al-routes")["Aliases"] == []

    ok = client.create_alias(FunctionName="al-routes", Name="ok", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
    status, code, _ = error_of(client.create_alias, FunctionName="al-routes", Name="ok",
                               FunctionVersion="2")
    assert (status, code) == (409, "ResourceConflictException")
    # An empty weight map removes the routing.
    cleared = client.update_alias(FunctionName="al-routes", Name="ok",
                                  RoutingConfig={"AdditionalVersionWeights": {}},
                                  RevisionId=ok["RevisionId"])
    assert "RoutingConfig" not in cleared or not cleared["RoutingConfig"].get("AdditionalVersionWeights")


def test_a_stale_revision_id_on_update_alias_and_delete_alias_gives_412(daemon, client):
    with_versions(client, "al-revision", 2)
    first = client.create_alias(FunctionName="al-revision", Name="live", FunctionVersion="1")
    client.update_alias(FunctionName="al-revision", Name="live", Description="moved")
    status, code, _ = error_of(client.update_alias, FunctionName="al-revision", Name="live",
                               FunctionVersion="2", RevisionId=first["RevisionId"])
    assert (status, code) == (412, "PreconditionFailedException")
    assert client.get_alias(FunctionName="al-revision", Name="live")["FunctionVersion"] == "1"
    # DeleteAlias has no RevisionId in Lambda's model; lambent takes one as a query parameter.
    status, headers, _ = daemon.request(
        "DELETE", f"/2015-03-31/functions/al-revision/aliases/live?RevisionId={first['RevisionId']}")
    assert (status, headers.get("x-amzn-ErrorType")) == (412, "PreconditionFailedException")
    current = client.get_alias(FunctionName="al-revision", Name="live")["RevisionId"]
    status, _, _ = daemon.request(
        "DELETE", f"/2015-03-31/functions/al-revision/aliases/live?RevisionId={current}")
    assert status == 204
    assert client.list_aliases(FunctionName="al-revision")["Aliases"] == []


def test_a_version_an_alias_routes_to_cannot_be_deleted(client):
    with_versions(client, "al-protect", 3)
    client.create_alias(FunctionName="al-protect", Name="live", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    for version in ("1", "2"):
        status, code, _ = error_of(client.delete_function, FunctionName="al-protect",
                                   Qualifier=version)
        assert (status, code) == (409, "ResourceConflictException"), version
    client.delete_function(FunctionName="al-protect", Qualifier="3")
    versions = client.list_versions_by_function(FunctionName="al-protect")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    client.delete_alias(FunctionName="al-protect", Name="live")
    client.delete_function(FunctionName="al-protect", Qualifier="2")


def test_list_aliases_pages_and_filters_by_version(client):
    with_versions(client, "al-list", 2)
    names = [f"a{i}" for i in range(5)]
    for i, name in enumerate(names):
        client.create_alias(FunctionName="al-list", Name=name, FunctionVersion="1" if i % 2 else "2")
    first = client.list_aliases(FunctionName="al-list", MaxItems=2)
    assert [a["Name"] for a in first["Aliases"]] == ["a0", "a1"]
    assert "NextMarker" in first
    pages = client.get_paginator("list_aliases").paginate(
        FunctionName="al-list", PaginationConfig={"PageSize": 2})
    assert [[a["Name"] for a in page["Aliases"]] for page in pages] == \
        [["a0", "a1"], ["a2", "a3"], ["a4"]]
    on_one = client.list_aliases(FunctionName="al-list", FunctionVersion="1")["Aliases"]
    assert [a["Name"] for a in on_one] == ["a1", "a3"]
    status, code, _ = error_of(client.list_aliases, FunctionName="al-nobody")
    assert (status, code) == (404, "ResourceNotFoundException")


def test_the_aws_cli_creates_lists_and_invokes_a_weighted_alias(daemon, client, tmp_path):
    aws = aws_cli(daemon, tmp_path).json
    with_versions(client, "al-cli", 2)

    created = aws("create-alias", "--function-name", "al-cli", "--name", "beta",
                  "--function-version", "1", "--routing-config",
                  '{"AdditionalVersionWeights": {"2": 0.5}}')
    assert created["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.5}
    listed = aws("list-aliases", "--function-name", "al-cli")
    assert [a["Name"] for a in listed["Aliases"]] == ["beta"]
    out = tmp_path / "out.json"
    seen = set()
    # Each call is a whole CLI process (~1 s): stop once both versions ran (both miss in 16
    # calls with probability 2^-15).
    for _ in range(16):
        meta = aws("invoke", "--function-name", "al-cli", "--qualifier", "beta", str(out))
        assert int(meta["ExecutedVersion"]) == json.loads(out.read_text())
        seen.add(meta["ExecutedVersion"])
        if seen == {"1", "2"}:
            break
    assert seen == {"1", "2"}
    aws("update-alias", "--function-name", "al-cli", "--name", "beta", "--function-version", "2",
        "--routing-config", '{"AdditionalVersionWeights": {}}')
    assert aws("get-alias", "--function-name", "al-cli", "--name", "beta")["FunctionVersion"] == "2"
    aws("delete-alias", "--function-name", "al-cli", "--name", "beta")
