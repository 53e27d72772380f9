#!/bin/sh
# Installs the unmodified npm package @aws-sdk/client-lambda (pinned) into a cache directory, once.
#
#   stream_install_client.sh [CACHE_DIR]      default: <repo>/build/e2e-cache/lambda-client
#
# It is the client whose InvokeWithResponseStreamCommand decodes the event stream the
# streaming suite checks (Debian's boto3 and AWS CLI predate that operation). A cache that is
# already complete is left alone. Exit status: 0 on success, non-zero with npm's output on
# stderr otherwise.
set -eu

VERSION=3.1164.0
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-"$repo/build/e2e-cache/lambda-client"}
pkg="$cache/node_modules/@aws-sdk/client-lambda"

installed() {
  [ -f "$pkg/package.json" ] && [ -f "$cache/.installed-$VERSION" ]
}

if installed; then
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "stream_install_client.sh: npm is not installed" >&2; exit 127; }
mkdir -p "$(dirname "$cache")"

# One installer at a time per cache (parallel test runs); the loser finds the cache filled.
exec 9>"$cache.lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 600 9 || { echo "stream_install_client.sh: timed out waiting for $cache.lock" >&2; exit 1; }
fi
if installed; then
  exit 0
fi

# Installed in a scratch directory and moved into place only when complete, so an interrupted
# install never leaves a half-filled cache that looks finished.
work=$(mktemp -d "$cache.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
printf '{"private":true,"name":"lambent-e2e-lambda-client-cache"}\n' >"$work/package.json"

export npm_config_update_notifier=false
export npm_config_loglevel=warn

(cd "$work" && timeout 600 npm install --no-audit --no-fund --no-save "@aws-sdk/client-lambda@$VERSION") >&2

[ -f "$work/node_modules/@aws-sdk/client-lambda/package.json" ] || {
  echo "stream_install_client.sh: npm finished but @aws-sdk/client-lambda is missing" >&2
  exit 1
}
touch "$work/.installed-$VERSION"
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT INT TERM
exit 0
