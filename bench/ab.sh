#!/usr/bin/env bash
# bench/ab.sh: two builds of the CLI timed against each other on `sipcontract validate --ndjson`,
# runs interleaved (A, B, A, B, ...) so that the machine's state, which moves single figures by a
# third here, moves both alike. For a change whose effect is a few percent, where bench/run.sh's
# ratios to ajv drift more than that between runs and bench/instructions.sh cannot see what costs
# time without costing instructions (a stalled load, a cache line moving between cores).
#
#   bench/ab.sh OLD_CLI NEW_CLI                    # quiet, null and pipe; 7 runs each; 20 copies
#   bench/ab.sh --modes null --reps 9 OLD_CLI NEW_CLI
#   bench/ab.sh --modes null --invalid-percent 100 --count 10000 --copies 100 OLD_CLI NEW_CLI
#                                                  # refused documents only: the findings' cost
#
# A run validates the corpus (--count documents, seed 1, --invalid-percent invalid: 10 by default, as
# bench/run.sh's) named --copies times on one
# command line, on all cores (-j nproc), in one of three modes: quiet (--quiet), null (a JSON line
# per document into /dev/null), pipe (the same lines into `grep -cF`, as bench/run.sh's target row
# reads them). Prints per mode and build the median wall time and CPU time (user + sys, the pipe's
# reader included) over the runs, and NEW/OLD for each; a ratio under 1 is NEW faster. Then
# "pairs": the median of each run's NEW/OLD against the OLD run just before it, which a host whose
# speed moves between runs disturbs less than the ratio of the medians. OLD_CLI
# would typically be built in a worktree of the base commit:
#   git worktree add /tmp/base BASE && cmake -S /tmp/base -B /tmp/base/b -G Ninja
#   -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/base/b --target sipcontract
# A difference of a few percent can be the builds' layout rather than the change: two builds whose
# measured code was the same ran 7-9% apart here, where a build against a copy of itself stays
# within 1% (bench/README.md, "the layout of a build"). Before keeping a change of that size, check
# that bench/instructions.sh moves the same way, or time it in a second layout (both builds with
# -DCMAKE_CXX_FLAGS="-falign-functions=64 -falign-loops=32").
# Needs the corpus generator of the Release build bench/run.sh makes (built here when missing).
# Exit status: 0 after printing, 1 when a run's exit code is not the corpus's verdict (1: some
# documents are invalid), 2 on a setup error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=ab.sh
# shellcheck source=bench/common.sh
. "$here/common.sh"
modes=quiet,null,pipe
reps=7
copies=20
count=50000
invalid_percent=10
clis=()
while [ $# -gt 0 ]; do
  case "$1" in
    --modes) modes=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --reps) reps=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --copies) copies=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --count) count=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --invalid-percent) invalid_percent=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) clis+=("$1"); shift ;;
  esac
done
[ "${#clis[@]}" -eq 2 ] || { echo "ab.sh: give two CLI executables, OLD and NEW (see --help)" >&2; exit 2; }
for cli in "${clis[@]}"; do
  [ -x "$cli" ] && [ -f "$cli" ] || { echo "ab.sh: $cli is not an executable file" >&2; exit 2; }
done
[[ $modes =~ ^(quiet|null|pipe)(,(quiet|null|pipe))*$ ]] ||
  { echo "ab.sh: --modes takes quiet, null, pipe (comma-separated), not '$modes'" >&2; exit 2; }
require_positive "reps=$reps" "copies=$copies" "count=$count" "invalid-percent=$invalid_percent"
[ "$invalid_percent" -le 100 ] ||
  { echo "ab.sh: --invalid-percent takes 1 to 100 (a run must refuse some documents), not '$invalid_percent'" >&2; exit 2; }

corpus_tool=$build/bench/sipcontract-bench-corpus
if [ ! -x "$corpus_tool" ]; then build_release sipcontract-bench-corpus; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus_copies "$count" "$copies" "$invalid_percent"
jobs=$(nproc)

# run CLI MODE: one run; prints "wall cpu" (seconds). The CLI's exit code goes through a file,
# since in pipe mode the pipeline's is grep's; its stderr is kept for the error when that code is
# not the corpus's verdict.
run() {
  local cli=$1 mode=$2 rc
  rm -f "$work/rc"
  TIMEFORMAT='%R %U %S'
  case "$mode" in
    quiet) { time { "$cli" validate --ndjson -j "$jobs" --quiet request "${files[@]}" 2>"$work/err" || echo $? >"$work/rc"; }; } 2>"$work/time" ;;
    null) { time { "$cli" validate --ndjson -j "$jobs" --format json request "${files[@]}" >/dev/null 2>"$work/err" || echo $? >"$work/rc"; }; } 2>"$work/time" ;;
    pipe) { time { { "$cli" validate --ndjson -j "$jobs" --format json request "${files[@]}" 2>"$work/err" || echo $? >"$work/rc"; } |
                     { grep -cF '"summary":{"documents":' >/dev/null || true; }; }; } 2>"$work/time" ;;
  esac
  rc=$(cat "$work/rc" 2>/dev/null || echo 0)
  [ "$rc" = 1 ] || { echo "ab.sh: $cli ($mode) exited $rc, not 1 (the corpus has invalid documents): $(head -n 1 "$work/err")" >&2; exit 1; }
  tail -n 1 "$work/time" | awk '{ printf "%s %.3f\n", $1, $2 + $3 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%d documents (%d%% invalid) x %d copies, -j %d, %d runs a build and mode, interleaved\n' \
  "$count" "$invalid_percent" "$copies" "$jobs" "$reps"
printf '%-6s %-5s %10s %10s   %s\n' mode build "wall (s)" "cpu (s)" cli
for mode in ${modes//,/ }; do
  : >"$work/a" && : >"$work/b"
  for ((r = 0; r < reps; ++r)); do
    run "${clis[0]}" "$mode" >>"$work/a"
    run "${clis[1]}" "$mode" >>"$work/b"
  done
  aw=$(cut -d' ' -f1 "$work/a" | median) ac=$(cut -d' ' -f2 "$work/a" | median)
  bw=$(cut -d' ' -f1 "$work/b" | median) bc=$(cut -d' ' -f2 "$work/b" | median)
  printf '%-6s %-5s %10.3f %10.3f   %s\n' "$mode" old "$aw" "$ac" "${clis[0]}"
  printf '%-6s %-5s %10.3f %10.3f   %s\n' "$mode" new "$bw" "$bc" "${clis[1]}"
  awk -v m="$mode" -v aw="$aw" -v ac="$ac" -v bw="$bw" -v bc="$bc" \
    'BEGIN { printf "%-6s %-5s %10.3f %10.3f   (new / old)\n", m, "ratio", bw / aw, bc / ac }'
  pw=$(paste -d' ' "$work/a" "$work/b" | awk '{ print $3 / $1 }' | median)
  pc=$(paste -d' ' "$work/a" "$work/b" | awk '{ print $4 / $2 }' | median)
  printf '%-6s %-5s %10.3f %10.3f   (median of each run'"'"'s new / old)\n' "$mode" pairs "$pw" "$pc"
done
