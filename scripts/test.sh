#!/usr/bin/env bash
# Every test on a fresh Debian 12 machine: install what is needed, build, and run the Catch2 suites
# through CTest (the installed-package check under tests/packaging and the hostile targets
# included), and the server under load for 10 s (scripts/load.sh); then the same suite under
# ASan+UBSan, the concurrent parts under TSan, and a brief libFuzzer run of each fuzz target. Each step is timed; the times are printed at the end.
#
# Environment: SIPCONTRACT_TEST_QUICK=1 stops after the normal tests (no sanitizers, no fuzzing);
# FUZZ_SECONDS (default 30) is each fuzz target's time.
set -euo pipefail
cd "$(dirname "$0")/.."

times=()
step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "=== $name"
  "$@"
  times+=("$(printf '%-34s %5d s' "$name" $((SECONDS - start)))")
}
report() {
  echo "=== step times"
  printf '%s\n' "${times[@]}"
  echo "total: $SECONDS s"
}
trap report EXIT

step "install dependencies" scripts/install-deps.sh --test
# Tests ON explicitly: a build/ configured by an older main.sh may have cached them OFF.
step "build" scripts/build.sh build -DSIPCONTRACT_BUILD_TESTS=ON
# The load test runs on its own below (it prints its figures), not among the others.
step "tests (ctest)" ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600 -LE load
step "load test, 10 s" env LOAD_BUILD_DIR=build scripts/load.sh 10
[ "${SIPCONTRACT_TEST_QUICK:-0}" = 1 ] && exit 0
step "tests under ASan+UBSan" scripts/sanitize.sh asan
step "concurrent tests under TSan" scripts/sanitize.sh tsan
step "fuzzing, ${FUZZ_SECONDS:-30} s a target" scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
