"""Tags through the Lambda API, boto3 and the AWS CLI v2: Tags on CreateFunction and in
GetFunction, TagResource / UntagResource / ListTags on the function's ARN, and Lambda's limits."""

import json
import os
import subprocess
import urllib.parse

import pytest

from conftest import make_zip
from sample_apps import APP, ROLE

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

AWS = "/usr/bin/aws"


@pytest.fixture
def client(daemon):
    return boto3.session.Session().client(
        "lambda", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60))


def create(client, name, **extra):
    return client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler",
                                  Role=ROLE, Code={"ZipFile": make_zip({"app.py": APP})}, **extra)


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], \
        response["Error"]["Message"]


def test_tags_round_trip_from_create_through_tag_untag_and_list(client):
    arn = create(client, "tag-trip", Tags={"team": "core", "env": "dev"})["FunctionArn"]
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
    arn = create(client, "tag-limits")["FunctionArn"]
    many = {f"k{i}": "v" for i in range(51)}
    for tags in (many, {"aws:reserved": "x"}, {"k" * 129: "v"}, {"key": "v" * 257}):
        status, code, _ = error_of(client.tag_resource, Resource=arn, Tags=tags)
        assert (status, code) == (400, "InvalidParameterValueException"), list(tags)[:2]
    assert client.list_tags(Resource=arn)["Tags"] == {}
    client.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    status, code, _ = error_of(client.tag_resource, Resource=arn, Tags={"one-more": "v"})
    assert (status, code) == (400, "InvalidParameterValueException")
    assert len(client.list_tags(Resource=arn)["Tags"]) == 50
    status, code, _ = error_of(create, client, "tag-create-limits", Tags={"aws:x": "y"})
    assert (status, code) == (400, "InvalidParameterValueException")


def test_tags_refuse_qualified_arns_names_and_unknown_functions(daemon, client):
    arn = create(client, "tag-refuse", Publish=True)["FunctionArn"]
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
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    arn = create(client, "tag-cli")["FunctionArn"]
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_DEFAULT_OUTPUT="json", AWS_PAGER="",
               AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1")

    def aws(*args):
        proc = subprocess.run([AWS, "--endpoint-url", daemon.endpoint, "lambda", *args],
                              capture_output=True, text=True, env=env, timeout=90)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    aws("tag-resource", "--resource", arn, "--tags", "owner=me,stage=beta")
    assert aws("list-tags", "--resource", arn)["Tags"] == {"owner": "me", "stage": "beta"}
    aws("untag-resource", "--resource", arn, "--tag-keys", "owner", "stage")
    assert aws("list-tags", "--resource", arn)["Tags"] == {}
