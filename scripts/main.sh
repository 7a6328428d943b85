#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, and run the
# contract suite against the built-in reference server (exit code of `sipcontract run`).
#
# It shares build/ with scripts/test.sh and builds only the sipcontract executable there, whatever
# an earlier configure of build/ chose for the tests: main then test, or test then main, each
# rebuilds nothing the other already built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build --target sipcontract
exec build/src/cli/sipcontract run --junit build/contract-tests.junit.xml --report build/contract-tests.report.json "$@"
