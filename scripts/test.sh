#!/usr/bin/env bash
# Every test on a fresh Debian 12 machine: install what is needed, build, and run the
# Catch2 suites through CTest (including the installed-package check under tests/packaging).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600
