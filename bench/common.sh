# bench/common.sh: what the scripts of bench/ share. Sourced, not run: the script sets `here` (its
# directory) and `tool` (its name, for messages) first; this sets `root` (the repository) and
# `build` (the Release build's directory: $SIPCONTRACT_BENCH_BUILD, default build-bench/).
root=$(dirname "$here")
build=${SIPCONTRACT_BENCH_BUILD:-$root/build-bench}

# require_positive NAME=VALUE...: exits 2, naming the option, unless each value is a positive integer.
require_positive() {
  local v
  for v in "$@"; do
    [[ ${v#*=} =~ ^[0-9]+$ && ${v#*=} -gt 0 ]] ||
      { echo "$tool: --${v%%=*} must be a positive integer, not '${v#*=}'" >&2; exit 2; }
  done
}

# build_release TARGET...: configures the Release build in $build (tests off, benchmarks on) and
# builds the targets, saying so on stderr.
build_release() {
  echo "[$tool] building Release in $build" >&2
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIPCONTRACT_BUILD_TESTS=OFF \
    -DSIPCONTRACT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target "$@" >/dev/null
}

# corpus_copies COUNT COPIES [INVALID_PERCENT]: bench/run.sh's usual corpus (COUNT documents, seed 1,
# 10% invalid unless INVALID_PERCENT says otherwise) in $work/corpus.ndjson, and `files` naming it
# COPIES times (one command line's worth of it).
corpus_copies() {
  "$build/bench/sipcontract-bench-corpus" --seed 1 --count "$1" --invalid-percent "${3:-10}" \
    --out "$work/corpus.ndjson" >/dev/null
  files=()
  local i
  for ((i = 0; i < $2; ++i)); do files+=("$work/corpus.ndjson"); done
}
