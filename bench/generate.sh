#!/usr/bin/env bash
# Generated cases (run --generate): cases per second against the built-in (in-process) reference
# server, and the time to the first finding against a server with each fault the fixed suite misses.
#
#   bench/generate.sh [--bin PATH/TO/sipcontract] [--seeds K] [--sizes "300 1000 3000"]
#
# Case n of a seed depends only on the seed and n, so the first failing case of a seed is the same
# whatever N is: the time to the first finding is the time to run cases 1..first (measured as a run
# of --generate FIRST), and it does not grow with N once N passes it (below it there is no finding).
# Prints one line per measurement and a markdown table on stdout. Load goes to 127.0.0.1 only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SIPCONTRACT_BIN:-$here/../build/src/cli/sipcontract}
seeds=5
sizes="300 1000 3000"
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "generate.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "generate.sh: no sipcontract binary at $bin (build first, or --bin)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

echo "| N | wall s | generated cases/s | requests |"
echo "|---|---|---|---|"
for n in $sizes; do
  t0=$(now)
  "$bin" run --generate "$n" --seed 1 --tag generated --report "$tmp/r.json" >/dev/null
  t1=$(now)
  requests=$(sed -n 's/.*"requests": \([0-9]*\).*/\1/p' "$tmp/r.json" | head -n 1)
  awk -v n="$n" -v a="$t0" -v b="$t1" -v q="$requests" 'BEGIN { printf "| %d | %.2f | %.0f | %s |\n", n, b - a, n / (b - a), q }'
done

export SIGNALWIRE_PROJECT_ID=bench-project SIGNALWIRE_API_TOKEN=bench-token-not-secret
echo
echo "| fault | first failing case (seeds 1..$seeds) | time to first finding, median s |"
echo "|---|---|---|"
for fault in control-char-500 combo-default null-as-absent list-keeps-deleted; do
  "$bin" serve --fault "$fault" >"$tmp/serve.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do grep -q '^subscriber ' "$tmp/serve.out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$tmp/serve.out")
  sub=$(sed -n 's/^subscriber //p' "$tmp/serve.out")
  firsts=""
  times=""
  for seed in $(seq "$seeds"); do
    "$bin" run --base-url "$url" --subscriber "$sub" --generate 300 --seed "$seed" --tag generated --no-ledger \
      --report "$tmp/f.json" >/dev/null || true
    first=$(python3 - "$tmp/f.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ns = [int(c["id"].rsplit("-", 1)[1]) for c in r["cases"] if c["outcome"] == "failed"]
print(min(ns) if ns else 0)
EOF
)
    firsts="$firsts $first"
    if [ "$first" -gt 0 ]; then
      t0=$(now)
      "$bin" run --base-url "$url" --subscriber "$sub" --generate "$first" --seed "$seed" --tag generated --no-ledger \
        >/dev/null || true
      t1=$(now)
      times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    fi
  done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  median=$(tr ' ' '\n' <<<"$times" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }')
  echo "| $fault |$firsts | $median |"
done
