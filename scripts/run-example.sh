#!/usr/bin/env bash
# Starts `lambent serve`, deploys examples/hello-python as "hello", prints how to call it,
# and keeps the daemon in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LISTEN=${LISTEN:-127.0.0.1:9000}
DATA_DIR=${DATA_DIR:-.lambent}
BIN="$BUILD/bin/lambent"
ENDPOINT="http://$LISTEN"

"$BIN" serve --listen "$LISTEN" --data-dir "$DATA_DIR" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null' EXIT INT TERM

for _ in $(seq 100); do
  curl -fsS "$ENDPOINT/lambent/v1/health" >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { echo "lambent serve failed to start" >&2; exit 1; }
  sleep 0.1
done

"$BIN" --endpoint "$ENDPOINT" deploy examples/hello-python --name hello \
  --runtime python3.11 --handler app.handler

cat <<MSG

lambent is serving on $ENDPOINT with the function "hello" deployed. Try:

  curl -s -X POST $ENDPOINT/2015-03-31/functions/hello/invocations -d '{"name":"curl"}'

  $BIN --endpoint $ENDPOINT invoke hello --payload '{"name":"cli"}' --log
  $BIN --endpoint $ENDPOINT logs hello

  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x /usr/bin/aws --region us-east-1 \\
    --endpoint-url $ENDPOINT lambda invoke --function-name hello \\
    --cli-binary-format raw-in-base64-out --payload '{"name":"aws"}' /dev/stdout

Ctrl-C stops the daemon; functions and logs stay in $DATA_DIR.
MSG
wait $daemon
