"""The `lambent` command line client for versions, aliases, concurrency and tags, against a
real daemon: publish, versions, alias create/update/get/list/delete, invoke by version, alias
and ARN, concurrency (reserved and provisioned), tag/untag/tags, and what `lambent status`
shows of them. Each command's answers are checked against the Lambda API itself."""

import json
import re

import pytest

HANDLER = '''\
import os

def handler(event, context):
    return {"code": "CODE", "version": context.function_version,
            "initialization": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")}
'''


def write_function(directory, code):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(HANDLER.replace("CODE", code))
    return directory


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


def deploy(daemon, tmp_path, name, code):
    fn = write_function(tmp_path / f"{name}-{code}", code)
    return ok(daemon.cli("deploy", str(fn), "--name", name, "--runtime", "python3.11",
                         "--handler", "app.handler"))


def invoke(daemon, target, *extra):
    return json.loads(ok(daemon.cli("invoke", target, *extra)))


def api(daemon, method, path, body=None):
    status, _, data = daemon.request(method, path, body)
    return status, json.loads(data) if data else None


@pytest.fixture
def two_versions(daemon, tmp_path):
    """cv-fn with version 1 (code "one") and version 2 (code "two"); $LATEST runs "two"."""
    deploy(daemon, tmp_path, "cv-fn", "one")
    out = ok(daemon.cli("publish", "cv-fn", "--description", "first"))
    assert re.search(r"published cv-fn version 1\b", out), out
    deploy(daemon, tmp_path, "cv-fn", "two")
    out = ok(daemon.cli("publish", "cv-fn"))
    assert re.search(r"published cv-fn version 2\b", out), out
    return "cv-fn"


# --- versions --------------------------------------------------------------------------------

def test_publish_makes_numbered_versions_that_invoke_runs_by_qualifier(daemon, two_versions):
    assert invoke(daemon, "cv-fn:1")["code"] == "one"
    assert invoke(daemon, "cv-fn:2")["code"] == "two"
    assert invoke(daemon, "cv-fn", "--qualifier", "1")["code"] == "one"
    assert invoke(daemon, "cv-fn")["code"] == "two"
    assert invoke(daemon, "cv-fn:1")["version"] == "1"
    # The function's full ARN with a qualifier works too.
    _, config = api(daemon, "GET", "/2015-03-31/functions/cv-fn/configuration")
    assert invoke(daemon, config["FunctionArn"] + ":1")["code"] == "one"


def test_publishing_an_unchanged_latest_returns_the_newest_version(daemon, two_versions):
    out = ok(daemon.cli("publish", "cv-fn"))
    assert re.search(r"version 2\b", out), out
    status, listed = api(daemon, "GET", "/2015-03-31/functions/cv-fn/versions")
    assert status == 200
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "1", "2"]


def test_publish_with_a_stale_revision_id_fails_with_412(daemon, two_versions):
    result = daemon.cli("publish", "cv-fn", "--revision-id", "not-the-revision")
    assert result.returncode == 1, result
    assert "PreconditionFailedException" in result.stderr, result.stderr


def test_versions_lists_every_version_with_its_aliases(daemon, two_versions):
    ok(daemon.cli("alias", "create", "cv-fn", "live", "--version", "2"))
    out = ok(daemon.cli("versions", "cv-fn"))
    lines = out.splitlines()
    assert lines[0].split()[0] == "VERSION", out
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"$LATEST", "1", "2"}, out
    assert "live" in rows["2"] and "first" in rows["1"], out
    listed = json.loads(ok(daemon.cli("versions", "cv-fn", "--json")))
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]


def test_rm_with_a_version_deletes_only_that_version(daemon, two_versions):
    ok(daemon.cli("rm", "cv-fn:1"))
    status, listed = api(daemon, "GET", "/2015-03-31/functions/cv-fn/versions")
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "2"]
    assert invoke(daemon, "cv-fn")["code"] == "two"


# --- aliases ---------------------------------------------------------------------------------

def test_alias_create_update_get_list_delete(daemon, two_versions):
    out = ok(daemon.cli("alias", "create", "cv-fn", "prod", "--version", "1", "--description", "stable"))
    assert "prod -> 1" in out, out
    assert invoke(daemon, "cv-fn:prod")["code"] == "one"
    status, alias = api(daemon, "GET", "/2015-03-31/functions/cv-fn/aliases/prod")
    assert status == 200 and alias["FunctionVersion"] == "1" and alias["Description"] == "stable"

    out = ok(daemon.cli("alias", "update", "cv-fn", "prod", "--version", "2", "--weight", "1=0.25"))
    assert "prod -> 2 (75%), 1 (25%)" in out, out
    status, alias = api(daemon, "GET", "/2015-03-31/functions/cv-fn/aliases/prod")
    assert alias["FunctionVersion"] == "2"
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"1": 0.25}
    assert alias["Description"] == "stable"  # only what the flags give changes

    got = json.loads(ok(daemon.cli("alias", "get", "cv-fn", "prod", "--json")))
    assert got["RoutingConfig"]["AdditionalVersionWeights"] == {"1": 0.25}

    ok(daemon.cli("alias", "update", "cv-fn", "prod", "--no-weight"))
    _, alias = api(daemon, "GET", "/2015-03-31/functions/cv-fn/aliases/prod")
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights"), alias
    assert all(invoke(daemon, "cv-fn:prod")["code"] == "two" for _ in range(10))

    ok(daemon.cli("alias", "create", "cv-fn", "beta", "--version", "1"))
    out = ok(daemon.cli("alias", "list", "cv-fn"))
    assert re.search(r"^beta\s+1\b", out, re.M) and re.search(r"^prod\s+2\b", out, re.M), out

    ok(daemon.cli("alias", "delete", "cv-fn", "beta"))
    status, _ = api(daemon, "GET", "/2015-03-31/functions/cv-fn/aliases/beta")
    assert status == 404
    listed = json.loads(ok(daemon.cli("alias", "list", "cv-fn", "--json")))
    assert [a["Name"] for a in listed] == ["prod"]


def test_an_alias_with_a_weight_splits_the_calls(daemon, two_versions):
    ok(daemon.cli("alias", "create", "cv-fn", "canary", "--version", "1", "--weight", "2=50%"))
    codes = [invoke(daemon, "cv-fn:canary")["code"] for _ in range(40)]
    assert "one" in codes and "two" in codes, codes


def test_alias_commands_refuse_bad_input_with_clear_messages(daemon, two_versions):
    result = daemon.cli("alias", "create", "cv-fn", "x", "--version", "1", "--weight", "2=1.5")
    assert result.returncode == 2 and "VERSION=WEIGHT" in result.stderr, result
    result = daemon.cli("alias", "create", "cv-fn", "x")
    assert result.returncode == 2 and "--version" in result.stderr, result
    result = daemon.cli("alias", "create", "cv-fn", "x", "--version", "9")
    assert result.returncode == 1 and "ResourceNotFoundException" in result.stderr, result
    result = daemon.cli("alias", "update", "cv-fn", "nope", "--version", "1")
    assert result.returncode == 1 and "ResourceNotFoundException" in result.stderr, result
    result = daemon.cli("alias")
    assert result.returncode == 2, result


# --- concurrency -----------------------------------------------------------------------------

def test_concurrency_sets_shows_and_removes_a_reservation(daemon, two_versions):
    out = ok(daemon.cli("concurrency", "cv-fn"))
    assert "reserved concurrency      none" in out, out
    out = ok(daemon.cli("concurrency", "cv-fn", "--reserved", "5"))
    assert re.search(r"reserved concurrency\s+5", out), out
    status, doc = api(daemon, "GET", "/2019-09-30/functions/cv-fn/concurrency")
    assert doc == {"ReservedConcurrentExecutions": 5}
    ok(daemon.cli("concurrency", "cv-fn", "--reserved", "0"))
    status, _, body = daemon.invoke("cv-fn", b"{}")
    assert status == 429, body
    result = daemon.cli("invoke", "cv-fn")
    assert result.returncode == 1, result
    assert "TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded)" in result.stderr, result
    out = ok(daemon.cli("concurrency", "cv-fn", "--unreserved"))
    assert "reserved concurrency      none" in out, out
    assert daemon.invoke("cv-fn", b"{}")[0] == 200


def test_concurrency_provisions_a_version_and_waits_until_it_is_ready(daemon, two_versions):
    out = ok(daemon.cli("concurrency", "cv-fn:1", "--provisioned", "2", "--wait", "--wait-timeout", "60",
                        timeout=90))
    assert re.search(r"provisioned on 1\s+2 requested, 2 allocated, \d available, READY", out), out
    status, doc = api(daemon, "GET", "/2019-09-30/functions/cv-fn/provisioned-concurrency?Qualifier=1")
    assert doc["Status"] == "READY" and doc["AllocatedProvisionedConcurrentExecutions"] == 2, doc
    assert invoke(daemon, "cv-fn:1")["initialization"] == "provisioned-concurrency"
    out = ok(daemon.cli("status"))
    assert re.search(r"^cv-fn\s+1\s+.*2 READY", out, re.M), out

    ok(daemon.cli("concurrency", "cv-fn", "--no-provisioned", "--qualifier", "1"))
    status, _ = api(daemon, "GET", "/2019-09-30/functions/cv-fn/provisioned-concurrency?Qualifier=1")
    assert status == 404


def test_concurrency_refuses_provisioning_without_a_qualifier(daemon, two_versions):
    result = daemon.cli("concurrency", "cv-fn", "--provisioned", "1")
    assert result.returncode == 2 and "--qualifier" in result.stderr, result
    result = daemon.cli("concurrency", "cv-fn", "--reserved", "1", "--unreserved")
    assert result.returncode == 2, result
    result = daemon.cli("concurrency", "cv-fn:$LATEST", "--provisioned", "1")
    assert result.returncode == 1, result  # Lambda does not provision $LATEST


# --- tags ------------------------------------------------------------------------------------

def test_tag_untag_and_tags(daemon, two_versions):
    out = ok(daemon.cli("tag", "cv-fn", "team=payments", "env=prod", "empty="))
    assert "tagged cv-fn (3 tags)" in out, out
    assert ok(daemon.cli("tags", "cv-fn")).splitlines() == ["empty=", "env=prod", "team=payments"]
    _, config = api(daemon, "GET", "/2015-03-31/functions/cv-fn/configuration")
    status, doc = api(daemon, "GET", f"/2017-03-31/tags/{config['FunctionArn']}")
    assert doc["Tags"] == {"team": "payments", "env": "prod", "empty": ""}
    ok(daemon.cli("untag", "cv-fn", "env", "empty"))
    assert json.loads(ok(daemon.cli("tags", "cv-fn", "--json"))) == {"team": "payments"}
    result = daemon.cli("tag", "cv-fn", "novalue")
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr, result
    result = daemon.cli("tag", "cv-fn", "aws:reserved=x")
    assert result.returncode == 1, result
    result = daemon.cli("tags", "cv-missing")
    assert result.returncode == 1 and "ResourceNotFoundException" in result.stderr, result


# --- status ----------------------------------------------------------------------------------

def test_status_shows_the_memory_budget_concurrency_and_each_version(make_daemon, tmp_path):
    daemon = make_daemon("--prestart", "0", "--memory-budget", "1G", "--concurrency-limit", "50",
                         "--unreserved-concurrency-min", "10").start()
    deploy(daemon, tmp_path, "cv-st", "one")
    ok(daemon.cli("publish", "cv-st"))
    ok(daemon.cli("concurrency", "cv-st", "--reserved", "3"))
    invoke(daemon, "cv-st:1")
    invoke(daemon, "cv-st")
    out = ok(daemon.cli("status"))
    assert re.search(r"^memory\s+128 of 1024 MB budget in use|^memory\s+256 of 1024 MB budget in use", out, re.M), out
    assert re.search(r"^concurrency\s+0 running of 50\b.*at least 10 kept unreserved", out, re.M), out
    rows = [line.split() for line in out.splitlines() if line.startswith("cv-st ")]
    assert [r[1] for r in rows] == ["$LATEST", "1"], out
    for row in rows:
        # FUNCTION VERSION BUSY IDLE PROV START QUEUE RESERVED ...
        assert row[2:8] == ["0", "1", "0", "0", "0", "3"], (row, out)
    assert re.search(r"^scaling\s+cv-st:1: 0 busy, 1 idle", out, re.M), out


def test_each_new_command_has_help(daemon):
    for command in (["publish"], ["versions"], ["alias"], ["alias", "create"], ["alias", "update"],
                    ["alias", "delete"], ["alias", "list"], ["concurrency"], ["tag"], ["untag"], ["tags"]):
        result = daemon.cli(*command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, (command, result)
    top = ok(daemon.cli("help"))
    for command in ("publish", "versions", "alias", "concurrency", "tag", "untag", "tags"):
        assert re.search(rf"^\s+{command}\s", top, re.M), top
