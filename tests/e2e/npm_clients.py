"""AWS's own JS clients (npm), installed once per build tree into build/e2e-cache/<name> by
fixtures/install_npm_package.sh. Without npm or the network the suites that need them skip,
saying why; with CI=true they fail instead."""

import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NETWORK_TROUBLE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"network|request to https?://\S+ failed|npm is not installed", re.IGNORECASE)


def install(request, package, version, name, cache_variable):
    """The cache directory holding `package`@`version` (its node_modules), installed if needed;
    `cache_variable` names an environment variable that may point elsewhere."""
    cache = os.environ.get(cache_variable) or str(REPO / "build" / "e2e-cache" / name)
    try:
        proc = subprocess.run(["sh", str(HERE / "fixtures" / "install_npm_package.sh"), package, version, cache],
                              capture_output=True, text=True, timeout=660)
        failed, output = proc.returncode != 0, (proc.stdout + proc.stderr)[-4000:]
    except subprocess.TimeoutExpired as e:
        failed, output = True, f"install_npm_package.sh timed out: {e}"
    if failed:
        reason = f"installing {package} failed:\n{output}"
        if NETWORK_TROUBLE.search(output) and os.environ.get("CI", "").lower() != "true":
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            with capture.global_and_fixture_disabled():
                print(f"\nskipping: npm or the network is unavailable for {package} "
                      f"(with CI=true this fails instead):\n{output[-800:]}", flush=True)
            pytest.skip(reason)
        pytest.fail(reason)
    return cache
