"""The concurrency controls' API through boto3 and the AWS CLI v2: Put/Get/
DeleteFunctionConcurrency, GetAccountSettings, the account's unreserved floor, the shapes of
the provisioned-concurrency configurations, and lambent's own /lambent/v1/status. (What
reservations and provisioned environments do to invocations is test_concurrency's.)"""

import json

import pytest

from lambda_clients import aws_cli, create_function, error_of, lambda_client


@pytest.fixture
def client(daemon):
    return lambda_client(daemon)


def limits(client):
    account = client.get_account_settings()["AccountLimit"]
    return account["ConcurrentExecutions"], account["UnreservedConcurrentExecutions"]


def test_reserved_concurrency_round_trips_and_shows_in_account_settings(client):
    create_function(client, "cc-reserve")
    assert limits(client) == (1000, 1000)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="cc-reserve")
    assert "Concurrency" not in client.get_function(FunctionName="cc-reserve")

    put = client.put_function_concurrency(FunctionName="cc-reserve", ReservedConcurrentExecutions=10)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert put["ReservedConcurrentExecutions"] == 10
    assert client.get_function_concurrency(FunctionName="cc-reserve")["ReservedConcurrentExecutions"] == 10
    assert client.get_function(FunctionName="cc-reserve")["Concurrency"] == {"ReservedConcurrentExecutions": 10}
    assert limits(client) == (1000, 990)

    # Reserved 0 is allowed: it turns the function off.
    client.put_function_concurrency(FunctionName="cc-reserve", ReservedConcurrentExecutions=0)
    assert limits(client) == (1000, 1000)

    deleted = client.delete_function_concurrency(FunctionName="cc-reserve")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="cc-reserve")
    assert limits(client) == (1000, 1000)


def test_reservations_may_not_take_the_unreserved_pool_below_its_floor(client):
    create_function(client, "cc-big")
    create_function(client, "cc-small")
    status, code, message = error_of(client.put_function_concurrency, FunctionName="cc-big",
                                     ReservedConcurrentExecutions=901)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert message == ("Specified ReservedConcurrentExecutions for function decreases account's "
                       "UnreservedConcurrentExecution below its minimum value of [100].")
    client.put_function_concurrency(FunctionName="cc-big", ReservedConcurrentExecutions=890)
    status, _, _ = error_of(client.put_function_concurrency, FunctionName="cc-small",
                            ReservedConcurrentExecutions=11)
    assert status == 400
    client.put_function_concurrency(FunctionName="cc-small", ReservedConcurrentExecutions=10)
    assert limits(client) == (1000, 100)
    # Replacing a reservation counts the function's old one out.
    client.put_function_concurrency(FunctionName="cc-big", ReservedConcurrentExecutions=880)
    assert limits(client) == (1000, 110)
    # A deleted function's reservation goes with it.
    client.delete_function(FunctionName="cc-big")
    assert limits(client) == (1000, 990)


def test_the_limit_and_floor_are_server_settings(make_daemon):
    daemon = make_daemon("--concurrency-limit", "20", "--unreserved-concurrency-min", "5").start()
    client = lambda_client(daemon)
    create_function(client, "cc-small-host")
    assert limits(client) == (20, 20)
    status, _, message = error_of(client.put_function_concurrency, FunctionName="cc-small-host",
                                  ReservedConcurrentExecutions=16)
    assert status == 400 and "[5]" in message
    client.put_function_concurrency(FunctionName="cc-small-host", ReservedConcurrentExecutions=15)
    assert limits(client) == (20, 5)


def test_concurrency_calls_refuse_bad_input(daemon, client):
    status, code, message = error_of(client.put_function_concurrency, FunctionName="cc-nobody",
                                     ReservedConcurrentExecutions=1)
    assert (status, code) == (404, "ResourceNotFoundException")
    assert message.startswith("Function not found: arn:aws:lambda:")
    for call in (client.get_function_concurrency, client.delete_function_concurrency):
        status, code, _ = error_of(call, FunctionName="cc-nobody")
        assert (status, code) == (404, "ResourceNotFoundException")
    create_function(client, "cc-input")
    path = "/2017-10-31/functions/cc-input/concurrency"
    for body in (b"{", b"[]", {}, {"ReservedConcurrentExecutions": -1},
                 {"ReservedConcurrentExecutions": "5"}, {"ReservedConcurrentExecutions": 1.5}):
        status, headers, data = daemon.request("PUT", path, body)
        assert status == 400, (body, data)
        assert "message" in json.loads(data)
    status, _, data = daemon.request("GET", "/2019-09-30/functions/cc-input/concurrency")
    assert (status, json.loads(data)) == (200, {})


def test_provisioned_concurrency_configs_have_lambdas_shapes(client):
    arn = create_function(client, "cc-prov", Publish=True)["FunctionArn"]
    client.create_alias(FunctionName="cc-prov", Name="live", FunctionVersion="1")

    status, code, message = error_of(client.put_provisioned_concurrency_config, FunctionName="cc-prov",
                                     Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert message == "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    status, code, _ = error_of(client.put_provisioned_concurrency_config, FunctionName="cc-prov",
                               Qualifier="7", ProvisionedConcurrentExecutions=1)
    assert (status, code) == (404, "ResourceNotFoundException")
    status, code, _ = error_of(client.get_provisioned_concurrency_config, FunctionName="cc-prov",
                               Qualifier="live")
    assert (status, code) == (404, "ProvisionedConcurrencyConfigNotFoundException")

    put = client.put_provisioned_concurrency_config(FunctionName="cc-prov", Qualifier="live",
                                                    ProvisionedConcurrentExecutions=1)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    assert put["Status"] in ("IN_PROGRESS", "READY")
    assert put["LastModified"]
    got = client.get_provisioned_concurrency_config(FunctionName="cc-prov", Qualifier="live")
    assert got["RequestedProvisionedConcurrentExecutions"] == 1
    assert got["Status"] in ("IN_PROGRESS", "READY", "FAILED")
    assert 0 <= got["AvailableProvisionedConcurrentExecutions"] <= got["AllocatedProvisionedConcurrentExecutions"] <= 1

    # A version is provisioned directly or through an alias, not both.
    status, code, _ = error_of(client.put_provisioned_concurrency_config, FunctionName="cc-prov",
                               Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert (status, code) == (409, "ResourceConflictException")

    listed = client.list_provisioned_concurrency_configs(FunctionName="cc-prov")
    items = listed["ProvisionedConcurrencyConfigs"]
    assert [i["FunctionArn"] for i in items] == [arn + ":live"]
    assert items[0]["RequestedProvisionedConcurrentExecutions"] == 1

    # More than the function's reservation is refused.
    client.put_function_concurrency(FunctionName="cc-prov", ReservedConcurrentExecutions=2)
    status, code, _ = error_of(client.put_provisioned_concurrency_config, FunctionName="cc-prov",
                               Qualifier="live", ProvisionedConcurrentExecutions=3)
    assert (status, code) == (400, "InvalidParameterValueException")
    status, _, _ = error_of(client.put_function_concurrency, FunctionName="cc-prov",
                            ReservedConcurrentExecutions=0)
    assert status == 400
    client.delete_function_concurrency(FunctionName="cc-prov")

    deleted = client.delete_provisioned_concurrency_config(FunctionName="cc-prov", Qualifier="live")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    status, code, _ = error_of(client.get_provisioned_concurrency_config, FunctionName="cc-prov",
                               Qualifier="live")
    assert (status, code) == (404, "ProvisionedConcurrencyConfigNotFoundException")
    assert client.list_provisioned_concurrency_configs(FunctionName="cc-prov")[
        "ProvisionedConcurrencyConfigs"] == []


def test_status_reports_functions_versions_and_the_host(daemon, client):
    create_function(client, "cc-status", Publish=True)
    client.create_alias(FunctionName="cc-status", Name="live", FunctionVersion="1")
    client.put_function_concurrency(FunctionName="cc-status", ReservedConcurrentExecutions=7)
    client.invoke(FunctionName="cc-status:live", Payload=b"{}")
    status, _, body = daemon.request("GET", "/lambent/v1/status")
    assert status == 200, body
    doc = json.loads(body)
    host = doc["host"]
    assert host["concurrency_limit"] == 1000
    assert host["unreserved_concurrency"] == 993
    for key in ("memory_budget_mb", "memory_in_use_mb", "running", "prestarted", "evictions"):
        assert isinstance(host[key], int), key
    fn = doc["functions"]["cc-status"]
    assert fn["reserved_concurrency"] == 7
    assert fn["aliases"]["live"]["version"] == "1"
    version = fn["versions"]["1"]
    assert version["busy"] + version["idle"] + version["provisioned"] >= 1
    assert version["cold_starts"] >= 1
    for key in ("starting", "queued", "throttles", "memory_mb", "policy"):
        assert key in version, key
    # The health document keeps its per-pool scaling, a published version as name:version.
    status, _, body = daemon.request("GET", "/lambent/v1/health")
    assert "cc-status:1" in json.loads(body)["scaling"]


def test_the_aws_cli_reserves_and_reads_account_settings(daemon, client, tmp_path):
    aws = aws_cli(daemon, tmp_path).json
    create_function(client, "cc-cli")

    put = aws("put-function-concurrency", "--function-name", "cc-cli",
              "--reserved-concurrent-executions", "25")
    assert put == {"ReservedConcurrentExecutions": 25}
    assert aws("get-function-concurrency", "--function-name", "cc-cli") == \
        {"ReservedConcurrentExecutions": 25}
    account = aws("get-account-settings")["AccountLimit"]
    assert (account["ConcurrentExecutions"], account["UnreservedConcurrentExecutions"]) == (1000, 975)
    aws("delete-function-concurrency", "--function-name", "cc-cli")
    assert aws("get-function-concurrency", "--function-name", "cc-cli") == {}
