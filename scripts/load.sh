#!/usr/bin/env bash
# scripts/load.sh [SECONDS] [CLIENTS]: the reference server under load and abuse (default 20 s,
# 8 clients). Builds `sipcontract` and tests/load in build-rel (LOAD_BUILD_DIR overrides), starts
# `sipcontract serve` on 127.0.0.1, drives it with wrk and tests/load/mix.lua (valid, invalid and
# malformed requests plus concurrent deletes), then reconciles the store with what every client
# was told, and prints the figures: requests/s, answers by kind and status, 5xx (none allowed),
# contract mismatches (none allowed), endpoints live/deleted/listed. Exit 0 when all held.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
clients=${2:-8}
build=${LOAD_BUILD_DIR:-build-rel}

scripts/install-deps.sh --test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target sipcontract test_load
# The figures and the verdict; everything the test printed when it failed (what wrk and the
# server said is in its messages).
log=$build/load.log
rc=0
SIPCONTRACT_LOAD_SECONDS=$seconds SIPCONTRACT_LOAD_CLIENTS=$clients "$build/tests/load/test_load" >"$log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  grep -E '^load:|passed' "$log"
else
  cat "$log"
  echo "load: FAILED (exit $rc; log: $log)"
fi
exit "$rc"
