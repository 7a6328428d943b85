#!/usr/bin/env bash
# bench/profile.sh [MODE] [SECONDS]: where the time of the validation hot path goes.
# Samples sipcontract-bench-validate (one thread; MODE check by default, or is_valid for the
# document API) with perf and DWARF call graphs, then splits the samples by what the loop was doing
# (parsing, validating, freeing the document) and lists the hottest leaf functions of each part,
# plus the share spent in the allocator and in string comparisons.
# Needs perf (Debian: linux-perf) and a corpus and build from bench/run.sh (or --quick).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${SIPCONTRACT_BENCH_BUILD:-$root/build-bench}
mode=${1:-check}
seconds=${2:-3}
corpus=$(ls -t "$here"/out/corpus-*.ndjson 2>/dev/null | head -1 || true)
[ -n "$corpus" ] || { echo "profile.sh: no corpus in bench/out: run bench/run.sh --quick first" >&2; exit 2; }
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
data=$here/out/perf-$mode.data
perf record -q -F 999 --call-graph dwarf,16384 -o "$data" \
  "$build/bench/sipcontract-bench-validate" --corpus "$corpus" --mode "$mode" --threads 1 --min-time "$seconds" >/dev/null
perf script -i "$data" -F ip,sym 2>/dev/null | node -e '
  const text = require("fs").readFileSync(0, "utf8");
  const short = (s) => s.replace(/nlohmann::json_abi_v3_11_2::/g, "nlohmann::").replace(/<.*/s, "<...>").slice(0, 80);
  const parts = new Map(); let total = 0, alloc = 0, checks = 0;
  for (const sample of text.split("\n\n")) {
    const syms = sample.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/).slice(1).join(" "));
    if (!syms.length) continue;
    ++total;
    const chain = syms.join(" | ");
    const part = /simdjson::.*(stage1|stage2|dom_parser_implementation::parse)/.test(chain) ? "parsing (simdjson)"
      : /parse_json/.test(chain) ? "parsing (sipcontract::parse_json, nlohmann DOM)"
      : /fast::|run_unit|Schema::is_valid|Schema::validate|Schema::check/.test(chain) ? "validation (verdict program, or valijson for the document API)"
      : /run_pass/.test(chain) ? "the loop itself (freeing the document, splitting lines)" : "outside the loop";
    if (/malloc|free|_int_|tcache|operator new|operator delete/.test(syms[0])) ++alloc;
    if (/memcmp/.test(syms[0])) ++checks;
    if (!parts.has(part)) parts.set(part, { n: 0, leaves: new Map() });
    const p = parts.get(part); ++p.n;
    const leaf = short(syms[0]); p.leaves.set(leaf, (p.leaves.get(leaf) || 0) + 1);
  }
  const pct = (n) => (100 * n / total).toFixed(1).padStart(5) + "%";
  console.log(`${total} samples, mode '"$mode"', one thread`);
  for (const [name, p] of [...parts].sort((a, b) => b[1].n - a[1].n)) {
    console.log(`${pct(p.n)}  ${name}`);
    for (const [leaf, n] of [...p.leaves].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`          ${pct(n)}  ${leaf}`);
  }
  console.log(`${pct(alloc)}  of all samples in the allocator (malloc/free/new/delete)`);
  console.log(`${pct(checks)}  of all samples in memcmp (property names and enum values compared as strings)`);
'
