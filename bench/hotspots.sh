#!/usr/bin/env bash
# bench/hotspots.sh: where `sipcontract validate --ndjson` spends its time, by function and by
# instruction, sampled in time (perf's cpu-clock) rather than counted (bench/instructions.sh). A
# load that waits (a store it cannot be forwarded from, a cache miss) or a branch that mispredicts
# costs time without costing instructions: its samples land on the instruction that waits, which
# is what the second part prints.
#
#   bench/hotspots.sh                  # --quiet and JSON lines into /dev/null, all cores
#   bench/hotspots.sh --mode json --functions 6 --copies 40
#   bench/hotspots.sh --cli OTHER_BUILD/src/cli/sipcontract
#
# Prints, per mode (quiet: --quiet; json: a JSON line per document into /dev/null; both: the two,
# then their difference), the functions with the most samples and their milliseconds of CPU; with
# both, last, the functions whose time the JSON lines add over --quiet. Then, for the --functions
# hottest functions of the sipcontract executable itself, their instructions holding 3% or more of
# the function's samples, each after the 3 instructions before it (a sample usually lands just
# after the instruction that stalled). The corpus is bench/run.sh's (--count documents, seed 1, 10%
# invalid) named --copies times on one command line. Needs perf (Debian: linux-perf), node, and the
# Release build bench/run.sh makes (built here when missing).
# Exit status: 0 after printing, 1 when the CLI's exit code is not the corpus's verdict, 2 on a
# setup error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=hotspots.sh
# shellcheck source=bench/common.sh
. "$here/common.sh"
mode=both
copies=20
count=50000
functions=4
default_cli=$build/src/cli/sipcontract
cli=$default_cli
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --copies) copies=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --count) count=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --functions) functions=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --cli) cli=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "hotspots.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $mode =~ ^(quiet|json|both)$ ]] || { echo "hotspots.sh: --mode takes quiet, json or both, not '$mode'" >&2; exit 2; }
require_positive "copies=$copies" "count=$count" "functions=$functions"
command -v perf >/dev/null || { echo "hotspots.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
command -v node >/dev/null || { echo "hotspots.sh: node is not installed (apt-get install nodejs)" >&2; exit 2; }

corpus_tool=$build/bench/sipcontract-bench-corpus
if [ ! -x "$corpus_tool" ] || { [ "$cli" = "$default_cli" ] && [ ! -x "$cli" ]; }; then
  build_release sipcontract sipcontract-bench-corpus
fi
[ -x "$cli" ] && [ -f "$cli" ] || { echo "hotspots.sh: $cli is not an executable file" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus_copies "$count" "$copies"

# sample MODE: perf data of one run in $work/MODE.data, and its functions' samples (percent and
# name, one a line) in $work/MODE.functions.
sample() {
  local rc=0 args=(--quiet)
  [ "$1" = json ] && args=(--format json)
  perf record -q -e cpu-clock -F 4999 -o "$work/$1.data" \
    "$cli" validate --ndjson -j "$(nproc)" "${args[@]}" request "${files[@]}" >/dev/null 2>"$work/$1.err" || rc=$?
  # perf's own failure (no permission to sample, say) comes here too: its message is in the file.
  [ "$rc" = 1 ] || { echo "hotspots.sh: perf record of the CLI ($1) exited $rc, not 1 (the corpus has invalid documents): $(grep -v '^\[' "$work/$1.err" | head -n 1)" >&2; exit 1; }
  perf report -i "$work/$1.data" --no-children --sort sym -F overhead,sym --stdio 2>/dev/null |
    grep -v '^#' | grep . >"$work/$1.functions" || true
  perf report -i "$work/$1.data" --stdio 2>/dev/null | sed -n 's/^# Event count (approx.): //p' >"$work/$1.ns"
}

modes=$mode
[ "$mode" = both ] && modes="quiet json"
for m in $modes; do sample "$m"; done

# By function: milliseconds of CPU (samples' share of the run's cpu-clock) and share.
node - "$work" "$mode" <<'EOF'
const fs = require("fs");
const [work, mode] = process.argv.slice(2);
const modes = mode === "both" ? ["quiet", "json"] : [mode];
const name = (s) => s.replace(/nlohmann::json_abi_v3_11_2::/g, "nlohmann::").replace(/\(anonymous namespace\)::/g, "")
  .replace(/sipcontract::detail::/g, "").replace(/<[^<>]*(<[^<>]*>[^<>]*)*>/g, "<>").slice(0, 100);
const load = (m) => {
  const ms = Number(fs.readFileSync(`${work}/${m}.ns`, "utf8").trim()) / 1e6;
  const fns = new Map();
  for (const line of fs.readFileSync(`${work}/${m}.functions`, "utf8").split("\n")) {
    const hit = /^\s*([\d.]+)%\s+\[(.)\]\s+(.*)$/.exec(line);
    if (hit) fns.set(name(hit[3]) + (hit[2] === "k" ? " [kernel]" : ""), (Number(hit[1]) * ms) / 100);
  }
  return { ms, fns };
};
const runs = Object.fromEntries(modes.map((m) => [m, load(m)]));
for (const m of modes) {
  const { ms, fns } = runs[m];
  console.log(`\n${m === "quiet" ? "--quiet" : "JSON lines into /dev/null"}: ${ms.toFixed(0)} ms of CPU; the functions with the most`);
  for (const [f, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`${v.toFixed(1).padStart(9)} ms ${((100 * v) / ms).toFixed(1).padStart(5)}%  ${f}`);
}
if (mode === "both") {
  const q = runs.quiet.fns, j = runs.json.fns;
  console.log(`\nwhat the JSON lines add over --quiet: ${(runs.json.ms - runs.quiet.ms).toFixed(0)} ms; by function (json - quiet)`);
  const diff = [...new Set([...q.keys(), ...j.keys()])].map((f) => [f, (j.get(f) || 0) - (q.get(f) || 0)]);
  for (const [f, v] of diff.sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${v.toFixed(1).padStart(9)} ms  ${f}`);
}
EOF

# By instruction: the hottest functions of the executable, annotated.
last=${modes##* }
perf annotate -i "$work/$last.data" --stdio 2>/dev/null >"$work/annotate.txt" || true
node - "$work/annotate.txt" "$functions" "$(basename "$cli")" "$last" <<'EOF'
const fs = require("fs");
const [file, count, exe, mode] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
// perf annotate --stdio: a header "Percent | Source code & Disassembly of EXE for cpu-clock (N
// samples ...)" per function, then lines "  P :   ADDR: INSTRUCTION", the function's name in the
// first "<name>:" line.
const blocks = text.split(/\n(?= Percent \|)/).filter((b) => b.startsWith(" Percent |"));
let shown = 0;
console.log(`\nthe hottest instructions of the ${count} hottest functions of ${exe} (${mode === "quiet" ? "--quiet" : "JSON lines"}; 3% or more of a function's samples)`);
for (const block of blocks) {
  const head = /Disassembly of (\S+) for \S+ \((\d+) samples/.exec(block);
  if (!head || head[1] !== exe) continue;
  const fn = (/<(.*)>:\s*$/m.exec(block) || [, "?"])[1]
    .replace(/\(anonymous namespace\)::/g, "").replace(/sipcontract::detail::/g, "").slice(0, 110);
  console.log(`\n${fn}: ${head[2]} samples`);
  const lines = block.split("\n").filter((l) => /^\s*[\d.]+ :\s+[0-9a-f]+:/.test(l));
  let printed = -1;  // the last line printed: a hot line's context is not printed twice
  lines.forEach((l, i) => {
    if (Number(l.trim().split(/\s+/)[0]) < 3) return;
    const from = Math.max(printed + 1, i - 3);
    if (printed >= 0 && from > printed + 1) console.log("    ...");
    for (let k = from; k <= i; ++k) console.log((k === i ? "  > " : "    ") + lines[k].trim().slice(0, 110));
    printed = i;
  });
  if (++shown >= Number(count)) break;
}
if (shown === 0) console.log("(perf annotate gave no function of the executable)");
EOF
