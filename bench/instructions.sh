#!/usr/bin/env bash
# bench/instructions.sh: what `sipcontract validate --ndjson` costs per document, in instructions
# (valgrind's callgrind), so that a change to the validate path can be judged on a machine whose
# timings are noise. Deterministic: the same build and corpus give the same counts, whatever else
# runs. Instructions are not time (cache misses and the allocator's locks do not show), so
# bench/run.sh stays the measure of record; this one tells which part of a document's cost moved.
#
#   bench/instructions.sh              # 20,000 documents a corpus, seed 1
#   bench/instructions.sh --count 5000 --seed 2
#   bench/instructions.sh --by-kind    # per kind of refused document instead (6,000 documents)
#
# Prints, for one thread (-j 1): the start-up (one valid document: the schema compiles on first
# use), then per further document of an all-valid and
# an all-invalid corpus and of the usual one (10% invalid) the instructions with --quiet and with a
# JSON line per document (--format json), and the ratio quiet / JSON on the usual corpus (what
# bench/run.sh's "the same with --quiet" row measures in time; its target is >= 0.80).
# With --by-kind it prints, instead of the three corpora (the start-up line stays), the same
# instructions per document for each kind of refused document of an all-invalid corpus of --count
# documents (default 6,000 there; about 25 seconds): a document's kind is `parse` when it is not
# JSON, else its findings' keywords, sorted and joined by "+", with "@root" when a finding is at the
# root (e.g. enum, type@root, required@root, oneOf@root). Each kind's documents are validated as a
# file of their own; per document = (instructions of that run - the start-up) / its documents.
# Beside each: its share of the refused documents, and "extra", its --format json figure minus that
# of --count valid documents (the first row); last, the share-weighted mean extra over all kinds.
# Needs valgrind (on a new Debian 12 machine of this kind; else apt-get install valgrind) and the
# Release build and corpus generator bench/run.sh makes (built here when missing); --by-kind also
# node (as bench/run.sh), which sorts the documents by kind.
# Exit status: 0 after printing, 2 on a setup error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=instructions.sh
# shellcheck source=bench/common.sh
. "$here/common.sh"
count=default
seed=1
by_kind=0
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --seed) seed=${2-}; shift $(($# > 1 ? 2 : 1)) ;;
    --by-kind) by_kind=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "instructions.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$count" != default ] || { [ "$by_kind" = 1 ] && count=6000 || count=20000; }
require_positive "count=$count" "seed=$seed"
[ "$by_kind" = 0 ] || [ "$count" -ge 100 ] || { echo "instructions.sh: --count must be at least 100 with --by-kind (kinds of a few documents say little), not $count" >&2; exit 2; }
[ "$count" -ge 2 ] || { echo "instructions.sh: --count must be at least 2 (one document is the start-up)" >&2; exit 2; }
[ "$by_kind" = 0 ] || command -v node >/dev/null || { echo "instructions.sh: --by-kind needs node (apt-get install nodejs)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

cli=$build/src/cli/sipcontract
corpus_tool=$build/bench/sipcontract-bench-corpus
if [ ! -x "$cli" ] || [ ! -x "$corpus_tool" ]; then build_release sipcontract sipcontract-bench-corpus; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$corpus_tool" --seed "$seed" --count 1 --invalid-percent 0 --out "$work/one.ndjson" >/dev/null
[ "$by_kind" = 1 ] && corpora="0 100" || corpora="0 100 10"
for invalid in $corpora; do
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

if [ "$by_kind" = 1 ]; then
  # Each document of the all-invalid corpus into the file of its kind: kinds.tsv gets, a kind a
  # line in name order, the kind, its documents and its file.
  rc=0
  "$cli" validate --ndjson -j 1 --format json request "$work/c100.ndjson" >"$work/records.ndjson" 2>"$work/records.err" || rc=$?
  [ "$rc" -le 1 ] || { echo "instructions.sh: validate exited $rc on the all-invalid corpus ($(head -n 1 "$work/records.err"))" >&2; exit 2; }
  node -e '
    const fs = require("fs");
    const [corpus, records, dir] = process.argv.slice(1);
    const lines = fs.readFileSync(corpus, "utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const kinds = new Map();
    let seen = 0;
    for (const text of fs.readFileSync(records, "utf8").split("\n")) {
      if (!text) continue;
      const r = JSON.parse(text);
      if (!("line" in r)) continue;
      let kind;
      if (r.error) kind = "parse";
      else if (r.valid || !Array.isArray(r.findings) || r.findings.length === 0) {
        console.error(`line ${r.line} of the all-invalid corpus has no finding and no error`);
        process.exit(1);
      } else {
        kind = [...new Set(r.findings.map((f) => f.keyword))].sort().join("+");
        if (r.findings.some((f) => f.pointer === "")) kind += "@root";
      }
      if (!(r.line >= 1 && r.line <= lines.length)) {
        console.error(`record for line ${r.line}, the corpus has ${lines.length}`);
        process.exit(1);
      }
      if (!kinds.has(kind)) kinds.set(kind, []);
      kinds.get(kind).push(lines[r.line - 1]);
      seen++;
    }
    if (seen !== lines.length) {
      console.error(`${seen} records for ${lines.length} documents`);
      process.exit(1);
    }
    const out = [];
    [...kinds.keys()].sort().forEach((kind, i) => {
      const file = `${dir}/kind${i}.ndjson`;
      fs.writeFileSync(file, kinds.get(kind).join("\n") + "\n");
      out.push(`${kind}\t${kinds.get(kind).length}\t${file}\n`);
    });
    fs.writeFileSync(`${dir}/kinds.tsv`, out.join(""));
  ' "$work/c100.ndjson" "$work/records.ndjson" "$work" 2>"$work/node.err" ||
    { echo "instructions.sh: sorting the all-invalid corpus by kind failed: $(head -n 1 "$work/node.err")" >&2; exit 2; }

  printf '%-22s %9s %8s %14s %14s %8s\n' "per document, -j 1" documents "share" "--quiet" "--format json" extra
  quiet=$(instructions "$work/c0.ndjson" --quiet)
  json=$(instructions "$work/c0.ndjson" --format json)
  base=$(((json - start) / count))
  printf '%-22s %9d %8s %14d %14d %8s\n' "valid" "$count" "-" $(((quiet - start) / count)) "$base" "-"
  weighted=0
  while IFS=$'\t' read -r kind n file; do
    quiet=$(instructions "$file" --quiet)
    json=$(instructions "$file" --format json)
    per=$(((json - start) / n))
    weighted=$((weighted + n * (per - base)))
    printf '%-22s %9d %8s %14d %14d %8d\n' "$kind" "$n" "$(awk -v n="$n" -v c="$count" 'BEGIN { printf "%.1f%%", 100 * n / c }')" \
      $(((quiet - start) / n)) "$per" $((per - base))
  done <"$work/kinds.tsv"
  printf 'share-weighted mean extra over the refused kinds (%d documents): %d instructions a document\n' "$count" $((weighted / count))
  exit 0
fi

printf '%-28s %14s %14s\n' "per document, -j 1" "--quiet" "--format json"
for invalid in 0 100 10; do
  quiet=$(instructions "$work/c$invalid.ndjson" --quiet)
  json=$(instructions "$work/c$invalid.ndjson" --format json)
  printf '%-28s %14d %14d\n' "$invalid% invalid ($count docs)" $(((quiet - start) / (count - 1))) $(((json - start) / (count - 1)))
done
awk -v q="$quiet" -v j="$json" -v s="$start" 'BEGIN { printf "quiet / JSON on the 10%% corpus: %.2f (start-up left out; bench/run.sh target >= 0.80)\n", (q - s) / (j - s) }'
