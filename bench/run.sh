#!/usr/bin/env bash
# lambent's benchmark (issue 3): `make bench` runs this after `make build`.
#
#   bash bench/run.sh [--quick] [--only latency,cold,...] [other bench/bench.py options]
#   BUILD=<dir> bash bench/run.sh ...   (the daemon in <dir>/bin, <dir>/runtimes; cache <dir>/bench-cache)
#
# Builds the native bootstrap and baseline server with g++ -O2, installs the peer
# (serverless@3 + serverless-offline@13) into $BUILD/bench-cache/peer if it is missing,
# copies the daemon binaries aside (so a rebuild during the run cannot swap them), then runs
# bench/bench.py, which writes bench/results/latest.json and docs/benchmarks.md.
# Loopback only; the whole run is bounded by BENCH_TIMEOUT seconds (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CACHE="$BUILD/bench-cache"
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
CXX=${CXX:-g++}
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in bench/

for tool in wrk "$CXX" node /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done
for bin in lambent lambent-init; do
  [ -x "$BUILD/bin/$bin" ] || { echo "bench: $BUILD/bin/$bin is missing (make build)" >&2; exit 1; }
done
mkdir -p "$CACHE"

# The daemon under test: a private copy of the binaries and the runtimes they serve.
SNAP="$CACHE/snapshot"
rm -rf "$SNAP"
mkdir -p "$SNAP/bin"
cp "$BUILD/bin/lambent" "$BUILD/bin/lambent-init" "$SNAP/bin/"
# Libraries the daemon loads from beside itself (the python zygote's), where the build has them.
for lib in "$BUILD"/bin/*.so; do [ -e "$lib" ] && cp "$lib" "$SNAP/bin/"; done
cp -r "$BUILD/runtimes" "$SNAP/runtimes"

# The provided.al2023 function (its own directory: the zip holds only `bootstrap`) and the
# native baseline server.
NATIVE="$CACHE/native"
mkdir -p "$NATIVE/function"
"$CXX" -O2 -std=c++20 -o "$NATIVE/function/bootstrap" bench/native/bootstrap.cc
"$CXX" -O2 -std=c++20 -pthread -o "$NATIVE/baseline-server" bench/baseline/server.cc

# The peer, installed once (npm registry) and reused; only the latency, throughput and urls
# sections run it.
PEER="$CACHE/peer"
ONLY=latency
ONLY_GIVEN=
prev=
for arg in "$@"; do
  case "$arg" in --only=*) ONLY=${arg#--only=} ONLY_GIVEN=1 ;; esac
  [ "$prev" = --only ] && ONLY=$arg ONLY_GIVEN=1
  prev=$arg
done
if [[ ",$ONLY," != *,latency,* && ",$ONLY," != *,throughput,* && ",$ONLY," != *,urls,* ]]; then
  : # no section of this run needs the peer
elif [ ! -f "$PEER/node_modules/serverless/bin/serverless.js" ] ||
   [ ! -d "$PEER/node_modules/serverless-offline" ] ||
   ! cmp -s bench/peer/package.json "$PEER/package.json"; then
  echo "bench: installing serverless + serverless-offline into $PEER (npm)" >&2
  mkdir -p "$PEER"
  cp bench/peer/package.json "$PEER/package.json"
  if ! (cd "$PEER" && SLS_TELEMETRY_DISABLED=1 timeout 600 npm install --no-audit --no-fund \
        --loglevel=error >"npm-install.log" 2>&1); then
    echo "bench: npm install failed (see $PEER/npm-install.log); the peer rows will be missing" >&2
  fi
fi

# Issue 10's "before": with BEFORE_BUILD=<dir> (a build from before that work, laid out like
# $BUILD), the scale section runs against both daemons, part by part in turns, and writes the
# older one's half to bench/results/issue10-before.json. BEFORE_COMMIT names its commit.
BEFORE_ARGS=()
if [ -n "${BEFORE_BUILD:-}" ]; then
  BSNAP="$CACHE/snapshot-before"
  rm -rf "$BSNAP"
  mkdir -p "$BSNAP/bin"
  cp "$BEFORE_BUILD/bin/lambent" "$BEFORE_BUILD/bin/lambent-init" "$BSNAP/bin/"
  cp -r "$BEFORE_BUILD/runtimes" "$BSNAP/runtimes"
  BEFORE_ARGS=(--before-lambent "$BSNAP/bin/lambent" --before-commit "${BEFORE_COMMIT:-not given}")
fi

# Issue 14's section, `observability`, is run by bench/lib/observability.py after bench.py's
# sections (bench.py does not know it): with no --only, or an --only naming it, which is then
# left out of the list bench.py gets. It compares the warm path with the daemon built from the
# commit before issue 14's work (OBS_BEFORE_COMMIT), built here once into
# $CACHE/before-<commit> with its own cmake build directory and reused by later runs (about
# 13 minutes on 2 cores the first time).
OBS=
BENCH_REST=1  # whether bench.py has sections to run
[ -z "$ONLY_GIVEN" ] && OBS=1
BENCH_ARGS=()
prev=
for arg in "$@"; do
  if [ "$prev" = --only ] || [[ "$arg" == --only=* ]]; then
    list=${arg#--only=}
    if [[ ",$list," == *,observability,* ]]; then
      OBS=1
      list=$(echo ",$list," | sed -e 's/,observability,/,/g' -e 's/^,//' -e 's/,$//')
    fi
    [ -z "$list" ] && BENCH_REST=
    if [ "$prev" = --only ]; then BENCH_ARGS+=("$list"); else BENCH_ARGS+=("--only=$list"); fi
  else
    BENCH_ARGS+=("$arg")
  fi
  prev=$arg
done

OBS_ARGS=()
if [ -n "$OBS" ]; then
  OBS_BEFORE_COMMIT=${OBS_BEFORE_COMMIT:-3adb69c}
  if commit=$(git rev-parse --verify --quiet "$OBS_BEFORE_COMMIT^{commit}"); then
    OBS_DIR="$CACHE/before-${commit:0:7}"
    if [ ! -f "$OBS_DIR/complete" ]; then
      echo "bench: building lambent at ${commit:0:7} (before issue 14) into $OBS_DIR, once" >&2
      rm -rf "$OBS_DIR"
      mkdir -p "$OBS_DIR/src"
      t0=$SECONDS
      if git archive "$commit" | tar -x -C "$OBS_DIR/src" &&
         cmake -S "$OBS_DIR/src" -B "$OBS_DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           >"$OBS_DIR/build.log" 2>&1 &&
         cmake --build "$OBS_DIR/build" -j "$(nproc)" --target lambent lambent-init lambent_runtime_files \
           >>"$OBS_DIR/build.log" 2>&1; then
        touch "$OBS_DIR/complete"
        echo "bench: built ${commit:0:7} in $((SECONDS - t0)) s" >&2
      else
        echo "bench: building ${commit:0:7} failed (see $OBS_DIR/build.log); observability measures this daemon only" >&2
      fi
    fi
    if [ -f "$OBS_DIR/complete" ]; then
      OBS_ARGS=(--obs-before-lambent "$OBS_DIR/build/bin/lambent" --obs-before-commit "${commit:0:7}")
    fi
  else
    echo "bench: commit $OBS_BEFORE_COMMIT is not in this clone; observability measures this daemon only" >&2
  fi
fi

START=$SECONDS
if [ -n "$BENCH_REST" ]; then
  timeout --kill-after=15 "$BENCH_TIMEOUT" /usr/bin/python3 bench/bench.py \
    --lambent "$SNAP/bin/lambent" \
    --native-dir "$NATIVE/function" \
    --baseline-server "$NATIVE/baseline-server" \
    --peer-dir "$PEER" \
    --cache "$CACHE" \
    "${BEFORE_ARGS[@]}" \
    "${BENCH_ARGS[@]}"
fi
if [ -n "$OBS" ]; then
  left=$((BENCH_TIMEOUT - (SECONDS - START)))
  [ "$left" -gt 0 ] || { echo "bench: no time left for the observability section" >&2; exit 1; }
  exec timeout --kill-after=15 "$left" /usr/bin/python3 bench/lib/observability.py \
    --lambent "$SNAP/bin/lambent" \
    --native-dir "$NATIVE/function" \
    --cache "$CACHE" \
    "${OBS_ARGS[@]}" \
    "$@"
fi
