#!/usr/bin/env bash
# scripts/sanitize.sh asan|tsan [CTEST_ARGS...]: builds sipcontract and its tests under a sanitizer
# and runs them through CTest; exit 0 when every test passed with no sanitizer report.
#
#   asan  build-asan: AddressSanitizer + UndefinedBehaviorSanitizer (-O1, assertions on), every
#         test (fuzz replays, hostile targets and the load test included; the packaging check is
#         left out: its consumer is built without sanitizers and cannot link the libraries).
#   tsan  build-tsan: ThreadSanitizer, the concurrent parts: the reference server (in process and
#         `sipcontract serve`), the runner (`run -j`, the per-request watchdog), `validate --ndjson`
#         (its worker threads), the server fuzz replay, the hostile targets and the load test.
#
# Environment: SANITIZE_BUILD_DIR overrides the build folder; SANITIZE_JOBS the parallelism
# (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
shift || true
jobs=${SANITIZE_JOBS:-$(nproc)}

case $mode in
  asan)
    dir=${SANITIZE_BUILD_DIR:-build-asan}
    # -O1: several times faster than -O0 under ASan and still precise; Debug keeps assert() on.
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
      -DSIPCONTRACT_SANITIZE=ON -DSIPCONTRACT_BUILD_BENCH=OFF >/dev/null
    cmake --build "$dir" -j "$jobs"
    # Child processes inherit these (the tests pass them on). detect_leaks is the default on Linux;
    # said here so that nobody turns it off by accident.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900 "$@"
    ;;
  tsan)
    dir=${SANITIZE_BUILD_DIR:-build-tsan}
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
      -DSIPCONTRACT_TSAN=ON -DSIPCONTRACT_BUILD_BENCH=OFF >/dev/null
    targets=(sipcontract test_server test_runner test_cli_validate test_hostile test_load fuzz_replay_server)
    cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
    # cpp-httplib is a prebuilt, uninstrumented library: accesses made inside it are not checked
    # (ignore_noninstrumented_modules), and tests/tsan.supp says why each suppression is needed.
    tsan_options=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1
    tsan_options+=:suppressions=$PWD/tests/tsan.supp
    export TSAN_OPTIONS=${TSAN_OPTIONS:-$tsan_options}
    # Only the targets built above have their tests discovered; the others show up as *_NOT_BUILT*.
    # test_cli_validate runs whole: its NDJSON tests are the concurrent ones, the rest are cheap.
    # Of the fuzz replays only the server's is concurrent (and built).
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900 -E '_NOT_BUILT' -LE fuzz "$@"
    ctest --test-dir "$dir" --output-on-failure --timeout 900 -R '^fuzz\.replay_server_' "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments...]" >&2
    exit 2
    ;;
esac
