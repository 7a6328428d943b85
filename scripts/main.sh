#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, and run the
# contract suite against the built-in reference server (exit code of `sipcontract run`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DSIPCONTRACT_BUILD_TESTS=OFF
exec build/src/cli/sipcontract run --junit build/contract-tests.junit.xml --report build/contract-tests.report.json "$@"
