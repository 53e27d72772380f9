"""Function URLs: configs through boto3 and the AWS CLI, requests served by Host
(`<id>.lambda-url.<region>.localhost`, which curl resolves to loopback) and by the path form,
as payload 2.0 events both ways, CORS preflights answered without running the function, and
Lambda's error statuses."""

import base64
import http.client
import json
import re
import subprocess
import urllib.parse

import pytest

from lambda_clients import ClientError, aws_cli, create_function, lambda_client

# Answers by path: echoes the event, returns a structured response, a bare value, a binary
# body, or fails.
APP = r'''
import base64
import json

def handler(event, context):
    path = event["rawPath"]
    print("URL-HIT " + path, flush=True)
    if path == "/echo":
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
    if path == "/made":
        return {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Made": "yes"},
                "cookies": ["a=1; Path=/", "b=2"], "body": "made it"}
    if path == "/bare":
        return {"hello": "world"}
    if path == "/png":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(b"\x89PNG\x00\xff").decode(), "isBase64Encoded": True}
    if path == "/malformed":
        return {"statusCode": "teapot"}
    raise Exception("no such page")
'''


def url_parts(function_url):
    parsed = urllib.parse.urlparse(function_url)
    return parsed.hostname, parsed.port


def request(daemon, host, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", int(daemon.endpoint.rsplit(":", 1)[1]), timeout=60)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheaders(), data


@pytest.fixture
def url(daemon):
    client = lambda_client(daemon)
    create_function(client, "web", source=APP)
    config = client.create_function_url_config(
        FunctionName="web", AuthType="NONE",
        Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
              "AllowHeaders": ["content-type"], "ExposeHeaders": ["x-made"], "MaxAge": 300})
    return client, config


def hits(daemon):
    status, _, body = daemon.request("GET", "/lambent/v1/functions/web/logs?tail=10000")
    return re.findall(r"URL-HIT (\S+)", body.decode(errors="replace"))


def test_config_has_lambdas_shape_and_the_url_answers_curl(daemon, url):
    client, config = url
    assert config["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(r"http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+/", config["FunctionUrl"])
    assert config["AuthType"] == "NONE"
    # boto3 1.29's model predates InvokeMode: read it raw.
    status, _, raw = daemon.request("GET", "/2021-10-31/functions/web/url")
    assert status == 200 and json.loads(raw)["InvokeMode"] == "BUFFERED"
    assert config["FunctionArn"].endswith(":function:web")
    got = client.get_function_url_config(FunctionName="web")
    assert got["FunctionUrl"] == config["FunctionUrl"] and "LastModifiedTime" in got
    assert client.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"][0]["FunctionUrl"] == \
        config["FunctionUrl"]
    # curl resolves *.localhost to loopback itself: the URL works as printed.
    out = subprocess.run(["curl", "-s", "-i", config["FunctionUrl"] + "bare"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/1.1 200")
    assert out.stdout.rstrip().endswith('{"hello": "world"}')


def test_a_get_with_a_query_string_and_cookies_becomes_a_payload_v2_event(daemon, url):
    host, _ = url_parts(url[1]["FunctionUrl"])
    status, _, body = request(daemon, host, "GET", "/echo?id=7&tag=a&tag=b%20c",
                              headers={"Cookie": "session=s1; theme=dark", "X-Custom": "v"})
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/echo"
    assert event["rawQueryString"] == "id=7&tag=a&tag=b%20c"
    assert event["queryStringParameters"] == {"id": "7", "tag": "a,b c"}
    assert event["cookies"] == ["session=s1", "theme=dark"]
    assert event["headers"]["x-custom"] == "v" and "cookie" not in event["headers"]
    http_ctx = event["requestContext"]["http"]
    assert http_ctx["method"] == "GET" and http_ctx["path"] == "/echo" and http_ctx["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["domainPrefix"] == host.split(".")[0]
    assert isinstance(event["requestContext"]["timeEpoch"], int)


def test_a_post_with_a_binary_body_arrives_base64_encoded(daemon, url):
    host, _ = url_parts(url[1]["FunctionUrl"])
    payload = bytes(range(256))
    status, _, body = request(daemon, host, "POST", "/echo", body=payload,
                              headers={"Content-Type": "application/octet-stream"})
    assert status == 200, body
    event = json.loads(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_the_function_sets_status_headers_cookies_and_binary_bodies(daemon, url):
    host, _ = url_parts(url[1]["FunctionUrl"])
    status, headers, body = request(daemon, host, "GET", "/made")
    assert status == 201 and body == b"made it"
    assert ("X-Made", "yes") in headers and ("Content-Type", "text/plain") in headers
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2"]
    status, headers, body = request(daemon, host, "GET", "/png")
    assert status == 200 and body == b"\x89PNG\x00\xff"


def test_the_path_form_serves_the_same_function(daemon, url):
    host, _ = url_parts(url[1]["FunctionUrl"])
    url_id = host.split(".")[0]
    status, _, body = request(daemon, "127.0.0.1", "GET", f"/lambda-url/{url_id}/echo?x=1")
    assert status == 200, body
    assert json.loads(body)["rawPath"] == "/echo"


def test_cors_preflight_is_answered_without_running_the_function(daemon, url):
    host, _ = url_parts(url[1]["FunctionUrl"])
    before = len(hits(daemon))
    status, headers, _ = request(daemon, host, "OPTIONS", "/echo",
                                 headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 200
    h = {k.lower(): v for k, v in headers}
    assert h["access-control-allow-origin"] == "https://app.example"
    assert h["access-control-allow-methods"] == "GET,POST"
    assert h["access-control-max-age"] == "300"
    assert len(hits(daemon)) == before
    status, headers, _ = request(daemon, host, "GET", "/made", headers={"Origin": "https://app.example"})
    h = {k.lower(): v for k, v in headers}
    assert h["access-control-allow-origin"] == "https://app.example"
    assert h["access-control-expose-headers"] == "x-made"


def test_errors_are_lambdas_statuses(daemon, url):
    client, config = url
    host, _ = url_parts(config["FunctionUrl"])
    assert request(daemon, host, "GET", "/boom")[0] == 502
    assert request(daemon, host, "GET", "/malformed")[0] == 502
    assert request(daemon, "0" * 32 + ".lambda-url.us-east-1.localhost", "GET", "/")[0] == 404
    assert request(daemon, host, "POST", "/echo", body=b"x" * (6 * 1024 * 1024 + 10))[0] == 413
    with pytest.raises(ClientError) as conflict:
        client.create_function_url_config(FunctionName="web", AuthType="NONE")
    assert conflict.value.response["Error"]["Code"] == "ResourceConflictException"
    create_function(client, "web2", source=APP)
    for bad in ({"AuthType": "AWS_IAM"}, {"AuthType": "NONE", "Cors": {"AllowMethods": ["FETCH"]}}):
        with pytest.raises(ClientError) as refused:
            client.create_function_url_config(FunctionName="web2", **bad)
        assert refused.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterValueException")
    status, _, raw = daemon.request("POST", "/2021-10-31/functions/web2/url",
                                    body=json.dumps({"AuthType": "NONE", "InvokeMode": "STREAMING"}).encode())
    assert status == 400 and b"invokeMode" in raw
    client.update_function_url_config(FunctionName="web", Cors={"AllowOrigins": ["*"]})
    assert client.get_function_url_config(FunctionName="web")["Cors"]["AllowOrigins"] == ["*"]
    client.delete_function_url_config(FunctionName="web")
    assert request(daemon, host, "GET", "/bare")[0] == 404
    with pytest.raises(ClientError) as gone:
        client.get_function_url_config(FunctionName="web")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_aws_cli_creates_and_reads_a_url_on_an_alias(daemon, tmp_path):
    client = lambda_client(daemon)
    create_function(client, "web", source=APP, Publish=True)
    client.create_alias(FunctionName="web", Name="live", FunctionVersion="1")
    cli = aws_cli(daemon, tmp_path)
    created = cli.json("create-function-url-config", "--function-name", "web", "--qualifier", "live",
                       "--auth-type", "NONE")
    assert created["FunctionArn"].endswith(":function:web:live")
    got = cli.json("get-function-url-config", "--function-name", "web", "--qualifier", "live")
    assert got["FunctionUrl"] == created["FunctionUrl"]
    host, _ = url_parts(created["FunctionUrl"])
    assert request(daemon, host, "GET", "/bare")[0] == 200


def test_a_url_goes_with_its_function_or_alias(daemon):
    client = lambda_client(daemon)
    create_function(client, "brief", source=APP, Publish=True)
    client.create_alias(FunctionName="brief", Name="live", FunctionVersion="1")
    first = client.create_function_url_config(FunctionName="brief", AuthType="NONE")["FunctionUrl"]
    client.create_function_url_config(FunctionName="brief", Qualifier="live", AuthType="NONE")
    client.delete_alias(FunctionName="brief", Name="live")
    assert [c["FunctionArn"] for c in client.list_function_url_configs(FunctionName="brief")["FunctionUrlConfigs"]] \
        == [client.get_function(FunctionName="brief")["Configuration"]["FunctionArn"]]
    client.delete_function(FunctionName="brief")
    assert request(daemon, url_parts(first)[0], "GET", "/bare")[0] == 404
    create_function(client, "brief", source=APP)
    again = client.create_function_url_config(FunctionName="brief", AuthType="NONE")["FunctionUrl"]
    assert again != first
