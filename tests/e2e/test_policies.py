"""Resource-based policies: AddPermission, GetPolicy and RemovePermission through the AWS CLI
and boto3, in Lambda's document shape, per function and qualifier, kept across a restart.
Stored faithfully; not enforced until requests are authenticated."""

import json

import pytest

from lambda_clients import ClientError, aws_cli, create_function, lambda_client


def test_a_permission_added_with_the_aws_cli_comes_back_from_get_policy(daemon, tmp_path):
    client = lambda_client(daemon)
    create_function(client, "guarded")
    cli = aws_cli(daemon, tmp_path)
    added = cli.json("add-permission", "--function-name", "guarded", "--statement-id", "events",
                     "--action", "lambda:InvokeFunction", "--principal", "events.amazonaws.com",
                     "--source-arn", "arn:aws:events:us-east-1:000000000000:rule/nightly")
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "events" and statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Resource"] == "arn:aws:lambda:us-east-1:000000000000:function:guarded"
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:000000000000:rule/nightly"}}
    cli.json("add-permission", "--function-name", "guarded", "--statement-id", "url",
             "--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
    got = cli.json("get-policy", "--function-name", "guarded")
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == ["events", "url"]
    assert policy["Statement"][1]["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert got["RevisionId"]
    cli.run("remove-permission", "--function-name", "guarded", "--statement-id", "events")
    policy = json.loads(client.get_policy(FunctionName="guarded")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["url"]


def test_policies_are_per_qualifier_checked_and_kept_across_a_restart(make_daemon, tmp_path):
    data = tmp_path / "policy-data"
    daemon = make_daemon(data_dir=data).start()
    client = lambda_client(daemon)
    create_function(client, "g", Publish=True)
    client.create_alias(FunctionName="g", Name="live", FunctionVersion="1")
    client.add_permission(FunctionName="g", Qualifier="live", StatementId="s", Action="lambda:InvokeFunction",
                          Principal="123456789012")
    with pytest.raises(ClientError) as none:
        client.get_policy(FunctionName="g")
    assert none.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as taken:
        client.add_permission(FunctionName="g", Qualifier="live", StatementId="s", Action="lambda:InvokeFunction",
                              Principal="*")
    assert taken.value.response["Error"]["Code"] == "ResourceConflictException"
    with pytest.raises(ClientError) as stale:
        client.add_permission(FunctionName="g", Qualifier="live", StatementId="t", Action="lambda:InvokeFunction",
                              Principal="*", RevisionId="00000000-0000-0000-0000-000000000000")
    assert stale.value.response["Error"]["Code"] == "PreconditionFailedException"
    with pytest.raises(ClientError) as bad:
        client.add_permission(FunctionName="g", StatementId="bad id", Action="lambda:InvokeFunction", Principal="*")
    assert bad.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterValueException")
    with pytest.raises(ClientError) as missing:
        client.add_permission(FunctionName="nope", StatementId="s", Action="lambda:InvokeFunction", Principal="*")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    daemon.stop()
    daemon = make_daemon(data_dir=data).start()
    policy = json.loads(lambda_client(daemon).get_policy(FunctionName="g", Qualifier="live")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert policy["Statement"][0]["Resource"].endswith(":function:g:live")


def test_a_deleted_function_takes_its_policy_with_it(daemon):
    client = lambda_client(daemon)
    create_function(client, "gone")
    client.add_permission(FunctionName="gone", StatementId="s", Action="lambda:InvokeFunction", Principal="*")
    client.delete_function(FunctionName="gone")
    create_function(client, "gone")
    with pytest.raises(ClientError) as none:
        client.get_policy(FunctionName="gone")
    assert none.value.response["Error"]["Code"] == "ResourceNotFoundException"
