"""Lambda's concurrency controls and the host's memory budget against the real daemon, with
boto3 (retries off, so every 429 is seen): reserved concurrency throttles past it at once
with Lambda's Reason and starts nothing for the throttled call; provisioned concurrency
initialises environments ahead of demand; the memory budget stops other functions' idle
environments to make room and never lets the live ones pass it. The decisions themselves
are unit-tested with fake environments (scheduler_test.cc)."""
import json
import threading
import time

from conftest import wait_until
from lambda_clients import create_function, lambda_client

HANDLER = '''\
import os
import time
import uuid

ENVIRONMENT_ID = uuid.uuid4().hex


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"environment_id": ENVIRONMENT_ID,
            "initialization_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
            "version": context.function_version}
'''


def client_for(daemon):
    # Room for every parallel call of a test.
    return lambda_client(daemon, max_pool_connections=64)


def create(client, name, **extra):
    return create_function(client, name, HANDLER, Timeout=30, **extra)


def invoke(client, name, event=None, **extra):
    """(error code, Reason) of a refused call, or (None, the handler's answer)."""
    try:
        response = client.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **extra)
    except client.exceptions.TooManyRequestsException as e:
        return "TooManyRequestsException", e.response.get("Reason")
    return None, json.loads(response["Payload"].read())


def in_parallel(count, call):
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def status(daemon):
    code, _, body = daemon.request("GET", "/lambent/v1/status")
    assert code == 200, body
    return json.loads(body)


def test_reserved_concurrency_5_throttles_15_of_20_parallel_slow_calls(daemon):
    client = client_for(daemon)
    create(client, "rc-five")
    client.put_function_concurrency(FunctionName="rc-five", ReservedConcurrentExecutions=5)
    assert client.get_function_concurrency(FunctionName="rc-five")["ReservedConcurrentExecutions"] == 5
    results = in_parallel(20, lambda i: invoke(client, "rc-five", {"sleep": 2}))
    throttled = [r for r in results if r[0] == "TooManyRequestsException"]
    served = [r for r in results if r[0] is None]
    assert len(throttled) == 15, results
    assert len(served) == 5, results
    assert {r[1] for r in throttled} == {"ReservedFunctionConcurrentInvocationLimitExceeded"}
    # No environment was started for a throttled call.
    code, _, body = daemon.request("GET", "/lambent/v1/functions/rc-five/environments")
    assert code == 200
    assert len(json.loads(body)["Environments"]) <= 5
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == 1000
    assert settings["UnreservedConcurrentExecutions"] == 995


def test_reserved_concurrency_0_throttles_every_call_until_removed(daemon):
    client = client_for(daemon)
    create(client, "rc-zero")
    client.put_function_concurrency(FunctionName="rc-zero", ReservedConcurrentExecutions=0)
    for _ in range(3):
        assert invoke(client, "rc-zero") == ("TooManyRequestsException",
                                             "ReservedFunctionConcurrentInvocationLimitExceeded")
    client.delete_function_concurrency(FunctionName="rc-zero")
    error, answer = invoke(client, "rc-zero")
    assert error is None, answer


def test_the_account_limit_throttles_unreserved_functions_with_its_reason(make_daemon):
    daemon = make_daemon("--concurrency-limit", "4", "--unreserved-concurrency-min", "1").start()
    client = client_for(daemon)
    create(client, "acct-a")
    results = in_parallel(6, lambda i: invoke(client, "acct-a", {"sleep": 1.5}))
    throttled = [r for r in results if r[0]]
    assert len(throttled) == 2, results
    assert {r[1] for r in throttled} == {"ConcurrentInvocationLimitExceeded"}


def test_provisioned_concurrency_3_is_ready_ahead_of_demand_without_init_duration(daemon):
    client = client_for(daemon)
    create(client, "pc-three")
    version = client.publish_version(FunctionName="pc-three")["Version"]
    client.put_provisioned_concurrency_config(FunctionName="pc-three", Qualifier=version,
                                              ProvisionedConcurrentExecutions=3)

    def config():
        return client.get_provisioned_concurrency_config(FunctionName="pc-three", Qualifier=version)

    assert config()["Status"] in ("IN_PROGRESS", "READY")
    assert wait_until(lambda: config()["Status"] == "READY", timeout=60), config()
    ready = config()
    assert ready["RequestedProvisionedConcurrentExecutions"] == 3
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 3
    assert ready["AvailableProvisionedConcurrentExecutions"] == 3
    code, _, body = daemon.request("GET", "/lambent/v1/functions/pc-three/environments")
    assert code == 200
    environments = json.loads(body)["Environments"]
    assert len(environments) == 3
    assert all(e["Provisioned"] and e["Version"] == version for e in environments), environments
    response = client.invoke(FunctionName="pc-three", Qualifier=version, LogType="Tail", Payload=b"{}")
    answer = json.loads(response["Payload"].read())
    assert answer["initialization_type"] == "provisioned-concurrency"
    assert answer["version"] == version
    assert response["ExecutedVersion"] == version
    import base64
    log = base64.b64decode(response["LogResult"]).decode()
    assert "REPORT RequestId" in log and "Init Duration" not in log, log
    assert f"Version: {version}" in log, log
    # Traffic beyond the three spills to on-demand environments.
    results = in_parallel(5, lambda i: invoke(client, "pc-three", {"sleep": 1}, Qualifier=version))
    assert all(r[0] is None for r in results), results
    kinds = sorted(r[1]["initialization_type"] for r in results)
    assert kinds.count("provisioned-concurrency") == 3 and kinds.count("on-demand") == 2, kinds
    # Removed: the environments go.
    client.delete_provisioned_concurrency_config(FunctionName="pc-three", Qualifier=version)
    def provisioned_environments():
        versions = status(daemon)["functions"].get("pc-three", {}).get("versions", {})
        return sum(v.get("provisioned", 0) for v in versions.values())

    assert wait_until(lambda: provisioned_environments() == 0, timeout=20)


def test_a_failing_init_makes_provisioned_concurrency_failed_with_a_reason(daemon):
    client = client_for(daemon)
    create_function(client, "pc-broken", "raise RuntimeError('no')\n")
    version = client.publish_version(FunctionName="pc-broken")["Version"]
    client.put_provisioned_concurrency_config(FunctionName="pc-broken", Qualifier=version,
                                              ProvisionedConcurrentExecutions=1)

    def config():
        return client.get_provisioned_concurrency_config(FunctionName="pc-broken", Qualifier=version)

    assert wait_until(lambda: config()["Status"] == "FAILED", timeout=30), config()
    assert config().get("StatusReason"), config()


def test_a_1_gb_budget_holds_four_256_mb_environments_and_evicts_to_serve_another(make_daemon):
    daemon = make_daemon("--memory-budget", "1024", "--prestart", "0").start()
    client = client_for(daemon)
    for name in ("mb-a", "mb-b"):
        create(client, name, MemorySize=256)
    highest = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            host = status(daemon)["host"]
            highest.append(host["memory_in_use_mb"])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        # Six at once: four environments fit, the other two calls are throttled.
        results = in_parallel(6, lambda i: invoke(client, "mb-a", {"sleep": 1.5}))
        served = [r for r in results if r[0] is None]
        throttled = [r for r in results if r[0]]
        assert len({r[1]["environment_id"] for r in served}) <= 4
        assert len(served) >= 4, results
        assert {r[1] for r in throttled} <= {"HostMemoryBudgetExceeded"}, throttled
        # mb-a's environments are idle now: a call of mb-b stops one to make room.
        error, answer = invoke(client, "mb-b")
        assert error is None, answer
        host = status(daemon)["host"]
        assert host["evictions"] >= 1
    finally:
        stop.set()
        watcher.join()
    assert max(highest) <= 1024, max(highest)
    code, _, body = daemon.request("GET", "/lambent/v1/functions/mb-a/environments")
    assert len(json.loads(body)["Environments"]) <= 3
