"""Tags through the Lambda API, boto3 and the AWS CLI v2: Tags on CreateFunction and in
GetFunction, TagResource / UntagResource / ListTags on the function's ARN, and Lambda's limits."""

import urllib.parse

import pytest

from lambda_clients import aws_cli, create_function, error_of, lambda_client


@pytest.fixture
def client(daemon):
    return lambda_client(daemon)


def test_tags_round_trip_from_create_through_tag_untag_and_list(client):
    arn = create_function(client, "tag-trip", Tags={"team": "core", "env": "dev"})["FunctionArn"]
    assert client.get_function(FunctionName="tag-trip")["Tags"] == {"team": "core", "env": "dev"}
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "core", "env": "dev"}

    tagged = client.tag_resource(Resource=arn, Tags={"env": "prod", "cost": "42", "empty": ""})
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.list_tags(Resource=arn)["Tags"] == \
        {"team": "core", "env": "prod", "cost": "42", "empty": ""}

    # Several keys in one call: tagKeys=a&tagKeys=b on the wire.
    untagged = client.untag_resource(Resource=arn, TagKeys=["team", "cost", "not-there"])
    assert untagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.list_tags(Resource=arn)["Tags"] == {"env": "prod", "empty": ""}
    # Tags belong to the function, whichever version is read.
    client.publish_version(FunctionName="tag-trip")
    assert client.get_function(FunctionName="tag-trip", Qualifier="1")["Tags"] == \
        {"env": "prod", "empty": ""}


def test_lambdas_tag_limits_are_enforced(client):
    arn = create_function(client, "tag-limits")["FunctionArn"]
    many = {f"k{i}": "v" for i in range(51)}
    for tags in (many, {"aws:reserved": "x"}, {"k" * 129: "v"}, {"key": "v" * 257}):
        status, code, _ = error_of(client.tag_resource, Resource=arn, Tags=tags)
        assert (status, code) == (400, "InvalidParameterValueException"), list(tags)[:2]
    assert client.list_tags(Resource=arn)["Tags"] == {}
    client.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    status, code, _ = error_of(client.tag_resource, Resource=arn, Tags={"one-more": "v"})
    assert (status, code) == (400, "InvalidParameterValueException")
    assert len(client.list_tags(Resource=arn)["Tags"]) == 50
    status, code, _ = error_of(create_function, client, "tag-create-limits", Tags={"aws:x": "y"})
    assert (status, code) == (400, "InvalidParameterValueException")


def test_tags_refuse_qualified_arns_names_and_unknown_functions(daemon, client):
    arn = create_function(client, "tag-refuse", Publish=True)["FunctionArn"]
    status, code, message = error_of(client.tag_resource, Resource=arn + ":1", Tags={"a": "b"})
    assert (status, code) == (400, "InvalidParameterValueException")
    assert message == ("Tags on function aliases and versions are not supported. "
                       "Please specify a function ARN.")
    status, code, _ = error_of(client.list_tags, Resource=arn.replace("tag-refuse", "tag-nobody"))
    assert (status, code) == (404, "ResourceNotFoundException")
    status, _, body = daemon.request("GET", "/2017-03-31/tags/tag-refuse")
    assert status == 400, body
    quoted = urllib.parse.quote(arn, safe="")
    status, _, body = daemon.request("POST", f"/2017-03-31/tags/{quoted}", b"{nope")
    assert status == 400, body
    status, _, body = daemon.request("POST", f"/2017-03-31/tags/{quoted}", {"Tags": {"a": 1}})
    assert status == 400, body
    status, _, body = daemon.request("POST", f"/2017-03-31/tags/{quoted}", {})
    assert status == 400, body
    status, _, body = daemon.request("DELETE", f"/2017-03-31/tags/{quoted}")
    assert status == 400, body


def test_the_aws_cli_tags_lists_and_untags(daemon, client, tmp_path):
    aws = aws_cli(daemon, tmp_path).json
    arn = create_function(client, "tag-cli")["FunctionArn"]

    aws("tag-resource", "--resource", arn, "--tags", "owner=me,stage=beta")
    assert aws("list-tags", "--resource", arn)["Tags"] == {"owner": "me", "stage": "beta"}
    aws("untag-resource", "--resource", arn, "--tag-keys", "owner", "stage")
    assert aws("list-tags", "--resource", arn)["Tags"] == {}
