"""The Lambda clients the API suites drive a test daemon with: boto3 with retries off, so
that every refusal (a 429 included) reaches the test as it was sent, and the AWS CLI v2 with
a private HOME (test_aws_cli's)."""

import json
import os

import pytest

from conftest import make_zip
from sample_apps import APP, ROLE

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from test_aws_cli import AWS, AwsCli  # noqa: E402


def lambda_client(daemon, **config):
    """A boto3 Lambda client of `daemon`; `config` adds botocore Config options (a larger
    connection pool for parallel calls)."""
    return boto3.session.Session().client(
        "lambda", endpoint_url=daemon.endpoint, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60,
                      **config))


def aws_cli(daemon, tmp_path):
    """The AWS CLI v2 against `daemon`, with dummy credentials and nothing of the caller's
    AWS configuration."""
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    return AwsCli(daemon.endpoint, tmp_path / "home")


def create_function(client, name, source=APP, **extra):
    return client.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler",
                                  Role=ROLE, Code={"ZipFile": make_zip({"app.py": source})},
                                  **extra)


def update_code(client, name, source, **extra):
    return client.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": source}),
                                       **extra)


def invoke(client, name, **extra):
    """(the version that ran, the handler's answer) of an invocation with an empty event."""
    response = client.invoke(FunctionName=name, Payload=b"{}", **extra)
    return response["ExecutedVersion"], json.loads(response["Payload"].read())


def error_of(call, *args, **kwargs):
    """(HTTP status, error code, message) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], \
        response["Error"]["Message"]
