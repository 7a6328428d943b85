#!/usr/bin/env bash
# bench/instructions.sh: what `sipcontract validate --ndjson` costs per document, in instructions
# (valgrind's callgrind), so that a change to the validate path can be judged on a machine whose
# timings are noise. Deterministic: the same build and corpus give the same counts, whatever else
# runs. Instructions are not time (cache misses and the allocator's locks do not show), so
# bench/run.sh stays the measure of record; this one tells which part of a document's cost moved.
#
#   bench/instructions.sh              # 20,000 documents a corpus, seed 1
#   bench/instructions.sh --count 5000 --seed 2
#
# Prints, for one thread (-j 1): the start-up (one valid document: the schema compiles on first
# use), then per further document of an all-valid and
# an all-invalid corpus and of the usual one (10% invalid) the instructions with --quiet and with a
# JSON line per document (--format json), and the ratio quiet / JSON on the usual corpus (what
# bench/run.sh's "the same with --quiet" row measures in time; its target is >= 0.80).
# Needs valgrind (on a new Debian 12 machine of this kind; else apt-get install valgrind) and the
# Release build and corpus generator bench/run.sh makes (built here when missing).
# Exit status: 0 after printing, 2 on a setup error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${SIPCONTRACT_BENCH_BUILD:-$root/build-bench}
count=20000
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "instructions.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "count=$count" "seed=$seed"; do
  [[ ${v#*=} =~ ^[0-9]+$ && ${v#*=} -gt 0 ]] || { echo "instructions.sh: --${v%%=*} must be a positive integer, not '${v#*=}'" >&2; exit 2; }
done
[ "$count" -ge 2 ] || { echo "instructions.sh: --count must be at least 2 (one document is the start-up)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

cli=$build/src/cli/sipcontract
corpus_tool=$build/bench/sipcontract-bench-corpus
if [ ! -x "$cli" ] || [ ! -x "$corpus_tool" ]; then
  echo "[instructions] building Release in $build" >&2
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIPCONTRACT_BUILD_TESTS=OFF \
    -DSIPCONTRACT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target sipcontract sipcontract-bench-corpus >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$corpus_tool" --seed "$seed" --count 1 --invalid-percent 0 --out "$work/one.ndjson" >/dev/null
for invalid in 0 100 10; do
  "$corpus_tool" --seed "$seed" --count "$count" --invalid-percent "$invalid" --out "$work/c$invalid.ndjson" >/dev/null
done

# instructions FILE ARGS...: the instructions callgrind counted for one run.
instructions() {
  local file=$1
  shift
  # validate exits 1 when a document is invalid: only a missing count is an error here.
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --log-file="$work/valgrind.log" \
    "$cli" validate --ndjson -j 1 "$@" request "$file" >/dev/null 2>&1 || true
  local n
  n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/valgrind.log")
  [ -n "$n" ] || { echo "instructions.sh: callgrind counted nothing (log: $(tail -n 3 "$work/valgrind.log"))" >&2; exit 2; }
  echo "$n"
}

start=$(instructions "$work/one.ndjson" --quiet)
printf 'start-up (one valid document): %s instructions\n' "$start"
printf '%-28s %14s %14s\n' "per document, -j 1" "--quiet" "--format json"
for invalid in 0 100 10; do
  quiet=$(instructions "$work/c$invalid.ndjson" --quiet)
  json=$(instructions "$work/c$invalid.ndjson" --format json)
  printf '%-28s %14d %14d\n' "$invalid% invalid ($count docs)" $(((quiet - start) / (count - 1))) $(((json - start) / (count - 1)))
done
awk -v q="$quiet" -v j="$json" -v s="$start" 'BEGIN { printf "quiet / JSON on the 10%% corpus: %.2f (start-up left out; bench/run.sh target >= 0.80)\n", (q - s) / (j - s) }'
