#!/usr/bin/env bash
# Installs the Debian packages lambent needs to build, test and benchmark.
# Idempotent: only missing packages are installed; apt-get update runs only when needed.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git
  # libraries
  libboost1.81-dev nlohmann-json3-dev libsqlite3-dev libarchive-dev libseccomp-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libexpected-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Prometheus' C++ client: /metrics links its core library only
  prometheus-cpp-dev
  # runtimes the built-in bootstraps run on
  python3 nodejs
  # end-to-end test clients and tools
  curl zip unzip awscli python3-boto3 python3-pytest npm
  # the dashboard's end-to-end test renders the page in headless Chromium
  chromium
  # promtool checks /metrics' text (Debian ships it only with the server: see below)
  prometheus
  # process tools used by tests (pgrep, ps)
  procps
  # mkfs.ext4: environments' disk-backed /tmp
  e2fsprogs
  # benchmarks (nats-server: the durable-queue peer of the SQS rows)
  wrk nats-server
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# nodejs may come from another repository that also provides npm; don't fight it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Servers installed for a tool (prometheus: promtool) or for benchmarks (nats-server) must not
# start listening as services: a policy-rc.d refuses every service start during the install,
# and the ones installed now are left disabled.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for p in "${missing[@]}"; do
    case "$p" in prometheus|nats-server) $SUDO systemctl disable --now "$p" >/dev/null 2>&1 || true ;; esac
  done
fi
