"""The AWS CLI v2 (Debian's /usr/bin/aws) against `lambent serve` through --endpoint-url.

Each test runs the real CLI with dummy credentials and a private HOME/config so the user's
own AWS configuration cannot interfere."""

import base64
import hashlib
import json
import os
import subprocess

import pytest

from conftest import make_zip
from sample_apps import APP, APP_CONFIG, APP_FAILS, APP_V2, ROLE

AWS = "/usr/bin/aws"


class AwsCli:
    def __init__(self, endpoint, home):
        self.endpoint = endpoint
        home.mkdir(parents=True, exist_ok=True)
        # Nothing of the caller's AWS setup leaks in: no AWS_* variables, a private HOME.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(home),
                   AWS_CONFIG_FILE=str(home / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
                   AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                   AWS_SECRET_ACCESS_KEY="secret",
                   AWS_DEFAULT_REGION="us-east-1",
                   AWS_DEFAULT_OUTPUT="json",
                   AWS_PAGER="",
                   AWS_EC2_METADATA_DISABLED="true",
                   AWS_MAX_ATTEMPTS="1")
        self.env = env

    def run(self, *args, check=True, timeout=90):
        proc = subprocess.run(
            [AWS, "--endpoint-url", self.endpoint, "--cli-read-timeout", "60",
             "--cli-connect-timeout", "10", "lambda", *args],
            capture_output=True, text=True, env=self.env, timeout=timeout)
        if check:
            assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def json(self, *args, **kwargs):
        proc = self.run(*args, **kwargs)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}


@pytest.fixture
def aws(daemon, tmp_path):
    assert os.access(AWS, os.X_OK), f"{AWS} (Debian's awscli) is required"
    return AwsCli(daemon.endpoint, tmp_path / "home")


@pytest.fixture
def zip_file(tmp_path):
    """Writes a package to disk and returns (path, bytes)."""
    def write(files, name="function.zip"):
        data = make_zip(files)
        path = tmp_path / name
        path.write_bytes(data)
        return path, data
    return write


def create(aws, zip_file, name, source=APP, *extra):
    path, _ = zip_file({"app.py": source}, f"{name}.zip")
    return aws.json("create-function", "--function-name", name, "--runtime", "python3.11",
                    "--handler", "app.handler", "--role", ROLE,
                    "--zip-file", f"fileb://{path}", *extra)


def invoke(aws, tmp_path, name, payload=None, *extra):
    out = tmp_path / "invoke-out.json"
    args = ["invoke", "--function-name", name]
    if payload is not None:
        args += ["--cli-binary-format", "raw-in-base64-out", "--payload", json.dumps(payload)]
    meta = aws.json(*args, *extra, str(out))
    return meta, out.read_bytes() if out.exists() else None


def test_create_function_from_a_zip_file_then_wait_until_active_and_read_it_back(aws, zip_file):
    path, data = zip_file({"app.py": APP})
    created = aws.json("create-function", "--function-name", "cli-create", "--runtime",
                       "python3.11", "--handler", "app.handler", "--role", ROLE,
                       "--zip-file", f"fileb://{path}", "--description", "made by the CLI")
    assert created["FunctionName"] == "cli-create"
    assert created["FunctionArn"].startswith("arn:aws:lambda:us-east-1:")
    assert created["FunctionArn"].endswith(":function:cli-create")
    assert created["Runtime"] == "python3.11"
    assert created["Handler"] == "app.handler"
    assert created["Description"] == "made by the CLI"

    aws.run("wait", "function-active-v2", "--function-name", "cli-create", timeout=60)

    got = aws.json("get-function", "--function-name", "cli-create")
    assert got["Configuration"]["FunctionName"] == "cli-create"
    assert got["Configuration"]["State"] == "Active"
    assert "Location" in got["Code"]

    config = aws.json("get-function-configuration", "--function-name", "cli-create")
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert config["CodeSize"] == len(data)
    assert config["Timeout"] == 3
    assert config["MemorySize"] == 128
    assert config["Version"] == "$LATEST"
    assert config["LastUpdateStatus"] == "Successful"
    assert config["PackageType"] == "Zip"


def test_list_functions_pages_through_five_functions_with_max_items_and_starting_token(
        aws, daemon):
    names = [f"cli-page-{i}" for i in range(5)]
    for name in names:
        daemon.create(name, {"app.py": APP})

    seen, pages, token = [], 0, None
    while True:
        args = ["list-functions", "--max-items", "2"]
        if token:
            args += ["--starting-token", token]
        page = aws.json(*args)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10, "paging does not terminate"
    assert sorted(seen) == sorted(names), "every function exactly once"
    assert pages == 3

    # The CLI's own paging with a small page size also collects all five exactly once.
    everything = aws.json("list-functions", "--page-size", "2")
    assert sorted(f["FunctionName"] for f in everything["Functions"]) == sorted(names)


def test_list_functions_without_cli_paging_follows_the_raw_next_marker(aws, daemon):
    names = [f"cli-marker-{i}" for i in range(5)]
    for name in names:
        daemon.create(name, {"app.py": APP})

    seen, marker = [], None
    for _ in range(10):
        args = ["list-functions", "--no-paginate", "--max-items", "2"]
        if marker:
            args += ["--marker", marker]
        page = aws.json(*args)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert sorted(seen) == sorted(names), "every function exactly once"


def test_update_function_code_then_wait_for_the_update_and_the_new_code_runs(
        aws, zip_file, tmp_path):
    create(aws, zip_file, "cli-code")
    aws.run("wait", "function-active-v2", "--function-name", "cli-code")
    _, body = invoke(aws, tmp_path, "cli-code", {"n": 1})
    assert json.loads(body)["version"] == 1

    path, data = zip_file({"app.py": APP_V2}, "v2.zip")
    updated = aws.json("update-function-code", "--function-name", "cli-code",
                       "--zip-file", f"fileb://{path}")
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    aws.run("wait", "function-updated-v2", "--function-name", "cli-code", timeout=60)

    _, body = invoke(aws, tmp_path, "cli-code", {"n": 2})
    assert json.loads(body) == {"version": 2}


def test_update_function_configuration_changes_timeout_memory_and_environment(
        aws, zip_file, tmp_path):
    create(aws, zip_file, "cli-config", APP_CONFIG)
    aws.run("wait", "function-active-v2", "--function-name", "cli-config")
    _, body = invoke(aws, tmp_path, "cli-config", {})
    before = json.loads(body)
    assert before["color"] is None and before["memory"] == "128"
    assert before["remaining_ms"] <= 3000

    updated = aws.json("update-function-configuration", "--function-name", "cli-config",
                       "--timeout", "20", "--memory-size", "256",
                       "--environment", "Variables={COLOR=teal}")
    assert updated["Timeout"] == 20
    assert updated["MemorySize"] == 256
    assert updated["Environment"]["Variables"] == {"COLOR": "teal"}
    aws.run("wait", "function-updated-v2", "--function-name", "cli-config", timeout=60)

    config = aws.json("get-function-configuration", "--function-name", "cli-config")
    assert (config["Timeout"], config["MemorySize"]) == (20, 256)
    assert config["Environment"]["Variables"] == {"COLOR": "teal"}

    _, body = invoke(aws, tmp_path, "cli-config", {})
    after = json.loads(body)
    assert after["color"] == "teal"
    assert after["memory"] == "256"
    assert 3000 < after["remaining_ms"] <= 20000


def test_invoke_writes_the_result_to_the_outfile_and_reports_status_200(aws, zip_file, tmp_path):
    create(aws, zip_file, "cli-invoke")
    meta, body = invoke(aws, tmp_path, "cli-invoke", {"n": 7, "text": "héllo"})
    assert meta["StatusCode"] == 200
    assert meta["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in meta
    assert json.loads(body) == {"version": 1, "event": {"n": 7, "text": "héllo"}}


def test_invoke_as_dry_run_returns_status_204_without_running_the_function(
        aws, zip_file, tmp_path, daemon):
    create(aws, zip_file, "cli-dryrun")
    meta, body = invoke(aws, tmp_path, "cli-dryrun", {"n": 1},
                        "--invocation-type", "DryRun")
    assert meta["StatusCode"] == 204
    assert not body
    status, _, log = daemon.request("GET", "/lambent/v1/functions/cli-dryrun/logs")
    assert status == 200
    assert b"START" not in log, "a dry run must not run the function"


def test_invoke_with_log_type_tail_returns_the_log_from_start_to_report(
        aws, zip_file, tmp_path):
    create(aws, zip_file, "cli-tail")
    meta, body = invoke(aws, tmp_path, "cli-tail", {"n": 42}, "--log-type", "Tail")
    assert meta["StatusCode"] == 200
    log = base64.b64decode(meta["LogResult"]).decode()
    lines = log.strip().splitlines()
    assert lines[0].startswith("START RequestId: ")
    assert "Version: $LATEST" in lines[0]
    assert "handled 42" in log
    assert any(line.startswith("END RequestId: ") for line in lines)
    assert lines[-1].startswith("REPORT RequestId: ")
    assert "Duration: " in lines[-1] and "Billed Duration: " in lines[-1]


def test_a_function_error_comes_back_as_unhandled_with_the_error_document(
        aws, zip_file, tmp_path):
    create(aws, zip_file, "cli-error", APP_FAILS)
    meta, body = invoke(aws, tmp_path, "cli-error", {})
    assert meta["StatusCode"] == 200
    assert meta["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "Boom"
    assert error["errorMessage"] == "it went wrong"


def test_delete_function_removes_the_function(aws, zip_file):
    create(aws, zip_file, "cli-delete")
    proc = aws.run("delete-function", "--function-name", "cli-delete")
    assert proc.stdout.strip() == ""
    missing = aws.run("get-function", "--function-name", "cli-delete", check=False)
    assert missing.returncode in (254, 255)
    assert "ResourceNotFoundException" in missing.stderr
    listed = aws.json("list-functions")
    assert "cli-delete" not in [f["FunctionName"] for f in listed["Functions"]]


def test_get_function_of_a_missing_function_fails_with_resource_not_found(aws):
    proc = aws.run("get-function", "--function-name", "cli-nothing-here", check=False)
    assert proc.returncode in (254, 255), (proc.returncode, proc.stderr)
    assert "ResourceNotFoundException" in proc.stderr
    assert "GetFunction" in proc.stderr


def test_creating_a_function_that_exists_fails_with_resource_conflict(aws, zip_file):
    create(aws, zip_file, "cli-twice")
    path, _ = zip_file({"app.py": APP}, "again.zip")
    proc = aws.run("create-function", "--function-name", "cli-twice", "--runtime",
                   "python3.11", "--handler", "app.handler", "--role", ROLE,
                   "--zip-file", f"fileb://{path}", check=False)
    assert proc.returncode in (254, 255), (proc.returncode, proc.stderr)
    assert "ResourceConflictException" in proc.stderr
