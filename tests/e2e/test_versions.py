"""Versions through the Lambda API, boto3 and the AWS CLI v2: PublishVersion, `Publish` on
create and update, ListVersionsByFunction with paging, and a qualifier (`name:q`, a full ARN or
Qualifier=) on Invoke, GetFunction, GetFunctionConfiguration and DeleteFunction."""

import base64
import json

import pytest

from lambda_clients import (aws_cli, create_function, error_of, invoke, lambda_client,
                            update_code)
from sample_apps import APP, APP_V2


@pytest.fixture
def client(daemon):
    return lambda_client(daemon)


def test_published_versions_run_their_own_code_by_number_name_qualifier_and_arn(client):
    created = create_function(client, "ver-run")
    arn = created["FunctionArn"]
    v1 = client.publish_version(FunctionName="ver-run", Description="first")
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (v1["Version"], v1["Description"]) == ("1", "first")
    assert v1["FunctionArn"] == arn + ":1"
    update_code(client, "ver-run", APP_V2)
    v2 = client.publish_version(FunctionName="ver-run")
    assert v2["Version"] == "2"
    assert v2["CodeSha256"] != v1["CodeSha256"]

    assert invoke(client, "ver-run", Qualifier="1") == ("1", {"version": 1, "event": {}})
    assert invoke(client, "ver-run:2") == ("2", {"version": 2})
    assert invoke(client, arn + ":1") == ("1", {"version": 1, "event": {}})
    account = arn.split(":")[4]
    assert invoke(client, f"{account}:function:ver-run:2")[0] == "2"
    assert invoke(client, "ver-run") == ("$LATEST", {"version": 2})
    assert invoke(client, "ver-run", Qualifier="$LATEST")[0] == "$LATEST"

    got = client.get_function(FunctionName="ver-run", Qualifier="1")["Configuration"]
    assert (got["Version"], got["FunctionArn"]) == ("1", arn + ":1")
    assert got["RevisionId"] == v1["RevisionId"]
    latest = client.get_function_configuration(FunctionName="ver-run")
    assert (latest["Version"], latest["FunctionArn"]) == ("$LATEST", arn)
    assert latest["RevisionId"] != v1["RevisionId"]
    second = client.get_function_configuration(FunctionName=arn + ":2")
    assert (second["Version"], second["CodeSha256"]) == ("2", latest["CodeSha256"])


def test_an_unknown_version_is_not_found_under_its_qualified_arn(client):
    arn = create_function(client, "ver-missing")["FunctionArn"]
    for call in (client.get_function, client.get_function_configuration):
        status, code, message = error_of(call, FunctionName="ver-missing", Qualifier="7")
        assert (status, code) == (404, "ResourceNotFoundException")
        assert message == f"Function not found: {arn}:7"
    status, code, message = error_of(client.invoke, FunctionName="ver-missing:7", Payload=b"{}")
    assert (status, code, message) == (404, "ResourceNotFoundException", f"Function not found: {arn}:7")
    status, _, message = error_of(client.invoke, FunctionName="ver-missing:nosuchalias", Payload=b"{}")
    assert (status, message) == (404, f"Function not found: {arn}:nosuchalias")


def test_publishing_an_unchanged_function_returns_the_newest_version(client):
    create_function(client, "ver-same")
    first = client.publish_version(FunctionName="ver-same")
    again = client.publish_version(FunctionName="ver-same")
    assert again["Version"] == first["Version"] == "1"
    client.update_function_configuration(FunctionName="ver-same", Timeout=7)
    assert client.publish_version(FunctionName="ver-same")["Version"] == "2"
    assert client.publish_version(FunctionName="ver-same")["Version"] == "2"


def test_publish_on_create_and_on_update_code_returns_the_new_version(client):
    created = create_function(client, "ver-publish", Publish=True)
    assert created["Version"] == "1"
    updated = update_code(client, "ver-publish", APP_V2, Publish=True)
    assert updated["Version"] == "2"
    assert updated["FunctionArn"].endswith(":function:ver-publish:2")
    assert invoke(client, "ver-publish:1")[1] == {"version": 1, "event": {}}
    assert invoke(client, "ver-publish:2")[1] == {"version": 2}
    versions = client.list_versions_by_function(FunctionName="ver-publish")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert versions[0]["FunctionArn"].endswith(":function:ver-publish:$LATEST")


def test_version_numbers_are_never_reused_after_a_delete(client):
    create_function(client, "ver-reuse")
    assert client.publish_version(FunctionName="ver-reuse")["Version"] == "1"
    client.update_function_configuration(FunctionName="ver-reuse", Timeout=4)
    assert client.publish_version(FunctionName="ver-reuse")["Version"] == "2"
    deleted = client.delete_function(FunctionName="ver-reuse", Qualifier="2")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    versions = client.list_versions_by_function(FunctionName="ver-reuse")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    status, code, _ = error_of(client.get_function, FunctionName="ver-reuse:2")
    assert (status, code) == (404, "ResourceNotFoundException")
    client.update_function_configuration(FunctionName="ver-reuse", Timeout=5)
    assert client.publish_version(FunctionName="ver-reuse")["Version"] == "3"
    # Version 1 and $LATEST are untouched.
    assert invoke(client, "ver-reuse:1")[0] == "1"


def test_latest_cannot_be_deleted_alone_and_the_whole_function_goes_with_its_versions(client):
    create_function(client, "ver-delete", Publish=True)
    status, code, message = error_of(client.delete_function, FunctionName="ver-delete",
                                     Qualifier="$LATEST")
    assert (status, code) == (400, "InvalidParameterValueException")
    assert message == "$LATEST version cannot be deleted without deleting the function."
    client.delete_function(FunctionName="ver-delete")
    for name in ("ver-delete", "ver-delete:1"):
        status, _, _ = error_of(client.get_function, FunctionName=name)
        assert status == 404
    # The name can be reused, and numbering starts again with a new function.
    assert create_function(client, "ver-delete", Publish=True)["Version"] == "1"


def test_a_stale_revision_id_is_refused_with_412(client):
    created = create_function(client, "ver-revision")
    stale = created["RevisionId"]
    client.update_function_configuration(FunctionName="ver-revision", Timeout=6)
    calls = [
        lambda: update_code(client, "ver-revision", APP_V2, RevisionId=stale),
        lambda: client.update_function_configuration(FunctionName="ver-revision", Timeout=5,
                                                     RevisionId=stale),
        lambda: client.publish_version(FunctionName="ver-revision", RevisionId=stale),
    ]
    for call in calls:
        status, code, message = error_of(call)
        assert (status, code) == (412, "PreconditionFailedException")
        assert "Revision Id" in message
    current = client.get_function(FunctionName="ver-revision")["Configuration"]["RevisionId"]
    published = client.publish_version(FunctionName="ver-revision", RevisionId=current)
    assert published["Version"] == "1"
    # A CodeSha256 that is not $LATEST's is Lambda's 400, not a 412.
    status, code, message = error_of(client.publish_version, FunctionName="ver-revision",
                                     CodeSha256="bm90IHRoZSBoYXNo")
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "CodeSHA256" in message


def test_updates_of_a_qualified_name_are_refused(client):
    create_function(client, "ver-qualified", Publish=True)
    status, code, _ = error_of(client.update_function_configuration,
                               FunctionName="ver-qualified:1", Timeout=9)
    assert (status, code) == (400, "InvalidParameterValueException")
    status, code, _ = error_of(update_code, client, "ver-qualified:1", APP_V2)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert client.get_function_configuration(FunctionName="ver-qualified:1")["Timeout"] == 3


def test_a_qualifier_in_the_name_and_another_in_the_query_conflict(daemon, client):
    create_function(client, "ver-conflict", Publish=True)
    status, _, body = daemon.request("GET", "/2015-03-31/functions/ver-conflict:1?Qualifier=2")
    assert status == 400, body
    assert json.loads(body)["message"] == \
        "The derived qualifier from the function name does not match the specified qualifier."


def test_list_versions_by_function_pages_with_max_items_and_marker(client):
    create_function(client, "ver-pages")
    for i in range(5):
        client.update_function_configuration(FunctionName="ver-pages", Timeout=10 + i)
        assert client.publish_version(FunctionName="ver-pages")["Version"] == str(i + 1)
    first = client.list_versions_by_function(FunctionName="ver-pages", MaxItems=2)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    assert "NextMarker" in first
    pages = client.get_paginator("list_versions_by_function").paginate(
        FunctionName="ver-pages", PaginationConfig={"PageSize": 2})
    seen = [[v["Version"] for v in page["Versions"]] for page in pages]
    assert seen == [["$LATEST", "1"], ["2", "3"], ["4", "5"]]
    assert [v["Timeout"] for v in first["Versions"]] == [14, 10]
    status, code, _ = error_of(client.list_versions_by_function, FunctionName="ver-nobody")
    assert (status, code) == (404, "ResourceNotFoundException")


def test_the_aws_cli_publishes_lists_and_invokes_versions(daemon, tmp_path):
    aws = aws_cli(daemon, tmp_path).json
    daemon.create("ver-cli", {"app.py": APP})

    published = aws("publish-version", "--function-name", "ver-cli", "--description", "v1")
    assert published["Version"] == "1"
    listed = aws("list-versions-by-function", "--function-name", "ver-cli")
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "1"]
    out = tmp_path / "out.json"
    meta = aws("invoke", "--function-name", "ver-cli", "--qualifier", "1", str(out))
    assert meta["ExecutedVersion"] == "1"
    assert json.loads(out.read_text())["version"] == 1
    got = aws("get-function-configuration", "--function-name", "ver-cli:1")
    assert got["Version"] == "1"


def test_list_functions_with_function_version_all_lists_every_version(client):
    create_function(client, "ver-all-a", Publish=True)
    create_function(client, "ver-all-b")
    pages = client.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": 2})
    seen = [(f["FunctionName"], f["Version"]) for page in pages for f in page["Functions"]]
    assert seen == [("ver-all-a", "$LATEST"), ("ver-all-a", "1"), ("ver-all-b", "$LATEST")]
    plain = client.list_functions()["Functions"]
    assert [(f["FunctionName"], f["Version"]) for f in plain] == \
        [("ver-all-a", "$LATEST"), ("ver-all-b", "$LATEST")]


def test_updating_latest_leaves_a_published_versions_warm_environment_alone(client):
    create_function(client, "ver-warm", Publish=True)

    def init_duration(name):
        response = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        return "Init Duration" in base64.b64decode(response["LogResult"]).decode()

    init_duration("ver-warm:1")
    assert not init_duration("ver-warm:1")
    client.update_function_configuration(FunctionName="ver-warm", Timeout=8)
    update_code(client, "ver-warm", APP_V2)
    assert not init_duration("ver-warm:1")
    assert invoke(client, "ver-warm:1")[1] == {"version": 1, "event": {}}
    assert invoke(client, "ver-warm")[1] == {"version": 2}


def test_malformed_version_and_provisioning_requests_get_lambdas_error_shape(daemon, client):
    create_function(client, "ver-bad", Publish=True)
    client.create_alias(FunctionName="ver-bad", Name="live", FunctionVersion="1")
    cases = [
        ("POST", "/2015-03-31/functions/ver-bad/versions", b"{oops"),
        ("POST", "/2015-03-31/functions/ver-bad/versions", {"Description": 7}),
        ("POST", "/2015-03-31/functions/ver-bad/versions", {"RevisionId": ["x"]}),
        ("GET", "/2015-03-31/functions/ver-bad/versions?MaxItems=0", None),
        ("GET", "/2015-03-31/functions/ver-bad/versions?MaxItems=x", None),
        ("GET", "/2015-03-31/functions/ver-bad/aliases?FunctionVersion=abc", None),
        ("PUT", "/2015-03-31/functions/ver-bad/aliases/live", {"FunctionVersion": 1}),
        ("PUT", "/2015-03-31/functions/ver-bad/aliases/live", b"[1]"),
        ("PUT", "/2019-09-30/functions/ver-bad/provisioned-concurrency?Qualifier=1", b"{"),
        ("PUT", "/2019-09-30/functions/ver-bad/provisioned-concurrency?Qualifier=1",
         {"ProvisionedConcurrentExecutions": 0}),
        ("PUT", "/2019-09-30/functions/ver-bad/provisioned-concurrency?Qualifier=1",
         {"ProvisionedConcurrentExecutions": "2"}),
        ("PUT", "/2019-09-30/functions/ver-bad/provisioned-concurrency", {"ProvisionedConcurrentExecutions": 1}),
        ("GET", "/2019-09-30/functions/ver-bad/provisioned-concurrency?List=ALL&MaxItems=51", None),
    ]
    for method, path, body in cases:
        status, headers, data = daemon.request(method, path, body)
        assert status == 400, (method, path, body, data)
        assert headers.get("x-amzn-ErrorType"), (path, headers)
        assert "message" in json.loads(data), data
    for method, path in (("GET", "/2015-03-31/functions/nobody/versions"),
                         ("POST", "/2015-03-31/functions/nobody/versions"),
                         ("GET", "/2015-03-31/functions/nobody/aliases/live"),
                         ("GET", "/2019-09-30/functions/nobody/provisioned-concurrency?Qualifier=1"),
                         ("GET", "/2019-09-30/functions/ver-bad/provisioned-concurrency?Qualifier=9"),
                         ("GET", "/2019-09-30/functions/ver-bad/provisioned-concurrency?Qualifier=gone")):
        status, headers, data = daemon.request(method, path, b"{}" if method == "POST" else None)
        assert (status, headers.get("x-amzn-ErrorType")) == (404, "ResourceNotFoundException"), (path, data)


def test_a_published_versions_code_outlives_later_updates_and_other_deletions(daemon, client):
    create_function(client, "ver-keep", Publish=True)
    update_code(client, "ver-keep", APP_V2)
    create_function(client, "ver-keep-other")
    # Deleting a function collects the packages nothing refers to any more: version 1's
    # package is still referred to, though $LATEST has moved on.
    client.delete_function(FunctionName="ver-keep-other")
    location = client.get_function(FunctionName="ver-keep:1")["Code"]["Location"]
    status, _, _ = daemon.request("GET", location.split(daemon.endpoint.split("//")[1], 1)[1])
    assert status == 200
    assert invoke(client, "ver-keep:1") == ("1", {"version": 1, "event": {}})
