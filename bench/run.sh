#!/usr/bin/env bash
# bench/run.sh: every benchmark of bench/README.md, each measured side by side with its anchor in the
# same run, repeated and interleaved; prints per figure the median, the anchor's median, the ratio and
# the target verdict.
#
#   bench/run.sh                 # the full run (about 3 minutes on 2 cores, plus the build)
#   bench/run.sh --quick         # 2 repetitions, short timings: checks the harness, not for figures
#   bench/run.sh --reps 7 --count 100000 --seed 2 --only validation,server,runner
#   bench/run.sh --only ndjson   # `sipcontract validate --ndjson` (JSON lines, --quiet, JSON lines on an all-valid corpus and into /dev/null) against ajv,
#                                # and against ajv allErrors writing a JSON line per document (ajv-bench.js --lines);
#                                # and the library's validate_text() against its check(), all cores
#   bench/run.sh --only check    # Schema::check() against ajv, 1 thread and all cores
#   bench/run.sh --only startup  # one request body per call: `sipcontract validate` against node + ajv
#
# Options (defaults): --reps N (5), --count DOCS (50000), --seed N (1), --min-time SECONDS per
# validation measurement (1.0), --wrk-duration SECONDS per server measurement (3), --only PARTS
# (validation,server,runner,startup; also check and ndjson, subsets of validation), --quick (2 reps, 10000 docs, 0.3 s, 1 s: checks the harness only).
#
# Installs what it needs (npm ci in bench/, wrk from apt when missing), builds Release in
# $SIPCONTRACT_BENCH_BUILD (default build-bench/), generates the corpus, runs, and writes
# bench/out/results.ndjson (raw), bench/out/summary.txt and bench/out/summary.md.
# Exit status: 0 when every measurement was sound (targets met or not: a miss is a finding),
# 1 when a check of the measurements failed (validators disagree, too few 201s), 2 on a setup error.
# Load goes to 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tool=run.sh
# shellcheck source=bench/common.sh
. "$here/common.sh"
out=$here/out

reps=5
count=50000
seed=1
min_time=1.0
wrk_duration=3
wrk_connections=16
only=validation,server,runner,startup
quick=0
cores=$(nproc)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --wrk-duration) wrk_duration=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --quick) quick=1; reps=2; count=10000; min_time=0.3; wrk_duration=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
require_positive "reps=$reps" "count=$count" "seed=$seed" "wrk-duration=$wrk_duration"
[[ $min_time =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "run.sh: --min-time must be a number of seconds, not '$min_time'" >&2; exit 2; }
[[ $only =~ ^(validation|server|runner|startup|check|ndjson)(,(validation|server|runner|startup|check|ndjson))*$ ]] ||
  { echo "run.sh: --only takes validation, server, runner, startup, check, ndjson (comma-separated), not '$only'" >&2; exit 2; }
wants() { [[ ",$only," == *",$1,"* ]]; }
say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

# --- what it needs -------------------------------------------------------------------------------
command -v node >/dev/null || die "node is required (Debian: apt-get install nodejs npm)"
# node_modules/.bench-lock records the lock file it was installed from: a changed pin reinstalls.
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.bench-lock"; then
  say "npm ci (ajv, ajv-formats as pinned in bench/package-lock.json)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && cp package-lock.json node_modules/.bench-lock)
fi
if wants server && ! command -v wrk >/dev/null; then
  say "installing wrk"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

say "building Release in $build"
mkdir -p "$out"
{
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIPCONTRACT_BUILD_TESTS=OFF -DSIPCONTRACT_BUILD_BENCH=ON &&
  cmake --build "$build" -j "$cores" --target sipcontract sipcontract-bench-corpus sipcontract-bench-validate \
    sipcontract-bench-bare-server sipcontract-bench-runner
} >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; die "the Release build failed (log: $out/build.log)"; }
bin=$build/bench
cli=$build/src/cli/sipcontract

results=$out/results.ndjson
: >"$results"
corpus=$out/corpus-$seed-$count.ndjson
record() {  # record ID REP JSON-LINE
  [ -n "$3" ] || die "$1 (repetition $2) printed no result"
  printf '{"id":"%s","rep":%s,"result":%s}\n' "$1" "$2" "$3" >>"$results"
}
now_ns() { date +%s%N; }
# children_ticks VAR: the CPU time of this shell's waited-for children (the CLI and the pipe's
# reader) into VAR, in clock ticks: /proc/PID/stat's cutime + cstime, read in this shell itself
# (a command substitution would be a new process, whose children are not these).
children_ticks() {
  local stat fields
  read -r stat <"/proc/$BASHPID/stat"
  read -r -a fields <<<"${stat##*) }"  # after "(comm) ": fields[0] is the state (field 3), cutime field 16
  printf -v "$1" '%d' $((fields[13] + fields[14]))
}
clock_ticks=$(getconf CLK_TCK)

say "corpus: $count documents, seed $seed"
record corpus 0 "$("$bin/sipcontract-bench-corpus" --seed "$seed" --count "$count" --out "$corpus")"
# The same count of valid documents only (--only ndjson): the JSON-lines row on it is the ceiling
# of that row, what it would reach if a refused document's findings cost no more than a valid line.
valid_corpus=$out/corpus-$seed-$count-valid.ndjson

# --- validation ----------------------------------------------------------------------------------
# Every measured command runs under a time limit, so a hang ends the run instead of the machine's day.
bounded() { timeout --kill-after=5 "$@"; }
lib() { bounded 300 "$bin/sipcontract-bench-validate" --corpus "$corpus" --min-time "$min_time" "$@"; }
ajv() { bounded 300 node "$here/ajv-bench.js" --corpus "$corpus" --schemas "$root/contracts/v1/schemas" --min-time "$min_time" "$@"; }
# `sipcontract validate` as a user runs it: a process from start to exit, a JSON line per document
# to a pipe (or, with quiet, nothing but the exit code). The corpus is named cli_copies times on the
# command line (FILE FILE ...), so that, like the ajv anchor's timed passes, a run lasts about
# --min-time: one start-up (measured on its own by --only startup) over many documents, not a
# 40 ms run that a scheduler's hiccup moves by a third.
cli_copies=1
# With nowhere, the JSON lines go to /dev/null: no reader, so the run shows what making them costs
# apart from what a pipe's reader (grep here) takes from the same cores.
# The CLI's exit code goes into the result (summarize.js holds it to the corpus's verdict), so that
# a run that stopped early, a crash or the time limit, cannot pass for a fast one.
cli_ndjson() {  # cli_ndjson JOBS [quiet|json|nowhere] [CORPUS]
  local t0 t1 c0 c1 summaries="" files=() copy input=${3:-$corpus} mode=${2:-json} status=0
  for ((copy = 0; copy < cli_copies; ++copy)); do files+=("$input"); done
  children_ticks c0
  t0=$(now_ns)
  if [ "$mode" = quiet ]; then
    bounded 300 "$cli" validate --ndjson -j "$1" --quiet request "${files[@]}" || status=$?
  elif [ "$mode" = nowhere ]; then
    bounded 300 "$cli" validate --ndjson -j "$1" --format json request "${files[@]}" >/dev/null || status=$?
  else
    # Every file ends with its summary line; the consumer keeps those. The CLI's status comes back
    # in a file (written only when it is not 0), cleared first so that an interrupted run's stays out.
    rm -f "$out/cli-ndjson-status"
    summaries=$( { bounded 300 "$cli" validate --ndjson -j "$1" --format json request "${files[@]}" ||
                   echo $? >"$out/cli-ndjson-status"; } | grep -F '"summary":{"documents":') || true
    if [ -f "$out/cli-ndjson-status" ]; then status=$(cat "$out/cli-ndjson-status"); rm -f "$out/cli-ndjson-status"; fi
  fi
  t1=$(now_ns)
  children_ticks c1
  node -e '
    const [mode, status, summaryLines, ns, docsBytes, jobs, docs, copies, ticks, perSecond] = process.argv.slice(1);
    const seconds = Number(ns) / 1e9;
    const n = Number(copies);
    // Per copy of the corpus (what summarize.js checks against the corpus), timed over all copies.
    let documents = Number(docs) * n, valid;
    if (summaryLines) {
      const all = summaryLines.split("\n").map((l) => JSON.parse(l).summary);
      documents = all.reduce((a, s) => a + s.documents, 0);
      valid = all.length === n ? all.reduce((a, s) => a + s.valid, 0) / n : -1;
    }
    const bench = {json: "cli-ndjson", quiet: "cli-ndjson-quiet", nowhere: "cli-ndjson-nowhere"}[mode];
    // cpus_used: the CPU time of the CLI and of the pipe'"'"'s reader over the wall time, as the
    // anchors report theirs (summarize.js gives no verdict where a side lacked the cores).
    console.log(JSON.stringify({bench, exit: Number(status), jobs: Number(jobs),
      copies: n, docs: documents / n, valid, seconds, docs_per_s: documents / seconds,
      mb_per_s: Number(docsBytes) * n / seconds / 1e6, cpus_used: Number(ticks) / Number(perSecond) / seconds}));
  ' "$mode" "$status" "$summaries" "$((t1 - t0))" "$(stat -c %s "$input")" "$1" "$count" "$cli_copies" \
    "$((c1 - c0))" "$clock_ticks"
}
# How many copies make a --quiet run on all cores last about --min-time: two untimed runs tell,
# one copy (which also brings the corpus into the page cache), then as many as that suggests, whose
# time (start-up now a small part) sets the number.
calibrate_cli() {
  local pass
  for pass in 1 2; do
    cli_copies=$(node -e 'const [min, line] = process.argv.slice(1); const r = JSON.parse(line);
      console.log(Math.min(500, Math.max(1, Math.ceil(r.copies * Number(min) / r.seconds))))' \
      "$min_time" "$(cli_ndjson "$cores" quiet)")
  done
  say "the CLI rows read the corpus $cli_copies times a run"
}

pair() {  # pair REP OURS_ID ANCHOR_ID 'ours command' 'anchor command': back to back, order alternating per rep
  local rep=$1
  if [ $((rep % 2)) -eq 1 ]; then
    record "$2" "$rep" "$(eval "$4")"; record "$3" "$rep" "$(eval "$5")"
  else
    record "$3" "$rep" "$(eval "$5")"; record "$2" "$rep" "$(eval "$4")"
  fi
}

run_validation() {
  local rep=$1
  # The library from bytes (Schema::check / validate_text), each back to back with its ajv anchor.
  pair "$rep" lib_check_1 ajv_1 'lib --mode check --threads 1' 'ajv --threads 1'
  pair "$rep" lib_check_n ajv_n "lib --mode check --threads $cores" "ajv --threads $cores"
  pair "$rep" lib_validate_text_1 ajv_all_1 'lib --mode validate_text --threads 1' 'ajv --threads 1 --all-errors'
  pair "$rep" lib_validate_text_n ajv_all_n "lib --mode validate_text --threads $cores" "ajv --threads $cores --all-errors"
  # The document API (parse_json, then is_valid / validate on the nlohmann document).
  record lib_is_valid_1 "$rep" "$(lib --mode is_valid --threads 1)"
  record lib_validate_1 "$rep" "$(lib --mode validate --threads 1)"
  # The CLI as a user runs it.
  record cli_ndjson "$rep" "$(cli_ndjson 1)"
  record cli_ndjson_n "$rep" "$(cli_ndjson "$cores")"
  record cli_ndjson_quiet_n "$rep" "$(cli_ndjson "$cores" quiet)"
  # Parser ceilings.
  pair "$rep" parse_1 json_parse_1 'lib --mode parse --threads 1' 'ajv --threads 1 --mode parse'
  record simdjson_1 "$rep" "$(lib --mode simdjson --threads 1)"
  record sax_1 "$rep" "$(lib --mode sax --threads 1)"
  record rapidjson_1 "$rep" "$(lib --mode rapidjson --threads 1)"
}

# The verdict program alone (--only check): Schema::check() back to back with ajv.
run_check() {
  local rep=$1
  pair "$rep" lib_check_1 ajv_1 'lib --mode check --threads 1' 'ajv --threads 1'
  pair "$rep" lib_check_n ajv_n "lib --mode check --threads $cores" "ajv --threads $cores"
}

# The CLI on NDJSON (--only ndjson): a JSON line per document, --quiet, ajv, JSON lines on the
# all-valid corpus (the ceiling), JSON lines into /dev/null (no reader), and ajv doing the JSON
# lines' work (allErrors, a JSON line per document written out: ajv-bench.js --lines). On the
# all-valid corpus also --quiet and JSON lines into /dev/null, that --quiet between the other two,
# so that the ceiling parts in two with no finding made anywhere: writing the records, and the
# pipe's reader on the same cores. The JSON lines run between --quiet and ajv, so that the two
# target rows' ratios are of runs back to back (as the summary says ratios are), and so does
# --quiet between the two JSON-lines runs; the order turns each repetition (the all-valid corpus's
# runs first or last). Beside the JSON lines into /dev/null, the library's validate_text() and its
# check(), measured in one process with their passes interleaved: what the findings cost with no
# process, no reading and no record written. (Their ids are this mode's own: --only check's check()
# row is a target row of runs back to back with ajv, which these are not.)
run_ndjson() {
  local rep=$1 row lines
  local rows=(lib_nd cli_ndjson_nowhere_n cli_ndjson_quiet_n cli_ndjson_n ajv_n
    ajv_lines_n cli_ndjson_valid_n cli_ndjson_quiet_valid_n cli_ndjson_nowhere_valid_n)
  if [ $((rep % 2)) -eq 1 ]; then
    rows=(cli_ndjson_nowhere_valid_n cli_ndjson_quiet_valid_n cli_ndjson_valid_n ajv_lines_n ajv_n cli_ndjson_n
      cli_ndjson_quiet_n cli_ndjson_nowhere_n lib_nd)
  fi
  for row in "${rows[@]}"; do
    case $row in
      cli_ndjson_n) record cli_ndjson_n "$rep" "$(cli_ndjson "$cores")" ;;
      cli_ndjson_quiet_n) record cli_ndjson_quiet_n "$rep" "$(cli_ndjson "$cores" quiet)" ;;
      cli_ndjson_nowhere_n) record cli_ndjson_nowhere_n "$rep" "$(cli_ndjson "$cores" nowhere)" ;;
      ajv_n) record ajv_n "$rep" "$(ajv --threads "$cores")" ;;
      cli_ndjson_valid_n) record cli_ndjson_valid_n "$rep" "$(cli_ndjson "$cores" json "$valid_corpus")" ;;
      cli_ndjson_quiet_valid_n) record cli_ndjson_quiet_valid_n "$rep" "$(cli_ndjson "$cores" quiet "$valid_corpus")" ;;
      cli_ndjson_nowhere_valid_n)
        record cli_ndjson_nowhere_valid_n "$rep" "$(cli_ndjson "$cores" nowhere "$valid_corpus")" ;;
      ajv_lines_n) record ajv_lines_n "$rep" "$(ajv --threads "$cores" --lines)" ;;
      lib_nd)
        # check() and validate_text() in one process, their passes interleaved, so that the row of
        # the one against the other is not a host's change of speed between two runs.
        lines=$(lib --mode check,validate_text --threads "$cores") ||
          die "sipcontract-bench-validate --mode check,validate_text exited $? (repetition $rep)"
        record lib_check_nd "$rep" "$(sed -n 1p <<<"$lines")"
        record lib_validate_text_nd "$rep" "$(sed -n 2p <<<"$lines")" ;;
    esac
  done
}

# --- server --------------------------------------------------------------------------------------
# Both servers get the settings `sipcontract serve` runs with by default (src/server/server.cpp):
# max(16, 2 x cores) worker threads, keep-alive for up to 100 requests or 5 s idle, TCP_NODELAY.
serve_threads=$(( 2 * cores > 16 ? 2 * cores : 16 ))
server_pid=""
server_port=""
start_server() {  # start_server LOG COMMAND...: waits for "listening on http://127.0.0.1:PORT"
  local log=$1; shift
  : >"$log"  # emptied here, not by the background redirection, so no stale port is read from it
  "$@" >>"$log" 2>&1 &
  server_pid=$!
  server_port=""
  for _ in $(seq 1 200); do
    server_port=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$server_port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || die "server exited before listening: $(head -c 300 "$log")"
    sleep 0.05
  done
  kill -TERM "$server_pid" 2>/dev/null || true
  die "server did not listen within 10 s: $(head -c 300 "$log")"
}
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT

# Credentials for `serve` come from the environment only; wrk gets the header through BENCH_AUTH.
# Neither is printed. A fresh subscriber and credentials per run.
bench_subscriber=$(cat /proc/sys/kernel/random/uuid)
bench_project=$(cat /proc/sys/kernel/random/uuid)
bench_token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
bench_auth="Basic $(printf '%s:%s' "$bench_project" "$bench_token" | base64 -w0)"

wrk_creates() {  # wrk_creates RUN-LABEL: load against $server_port, prints wrk-create.lua's JSON line
  BENCH_PATH="/api/fabric/resources/subscribers/$bench_subscriber/sip_endpoints" BENCH_AUTH="$bench_auth" \
  BENCH_RUN="$1" bounded $((wrk_duration + 60)) wrk -t1 -c"$wrk_connections" -d"${wrk_duration}s" -s "$here/wrk-create.lua" \
    "http://127.0.0.1:$server_port" | grep '^{"bench":"wrk"'
}
measure_serve() {
  SIGNALWIRE_PROJECT_ID=$bench_project SIGNALWIRE_API_TOKEN=$bench_token start_server "$out/serve.log" \
    "$cli" serve --port 0 --subscriber "$bench_subscriber" --threads "$serve_threads" --max-endpoints 10000000
  local line; line=$(wrk_creates "serve-$1") || true
  stop_server
  echo "$line"
}
measure_bare() {
  start_server "$out/bare.log" "$bin/sipcontract-bench-bare-server" --port 0 --threads "$serve_threads" \
    --keep-alive-max-count 100 --keep-alive-timeout 5 --tcp-nodelay
  local line; line=$(wrk_creates "bare-$1") || true
  stop_server
  echo "$line"
}
run_server() {
  local rep=$1
  pair "$rep" serve bare "measure_serve $rep" "measure_bare $rep"
}

# --- runner --------------------------------------------------------------------------------------
runner_suites=20   # in-process suites per repetition for the runner and for the raw loop
process_runs=5     # `sipcontract run` and the raw-loop process, per repetition
call_runs=20       # one-payload calls per repetition, ours and the anchor's (--only startup)
if [ "$quick" = 1 ]; then runner_suites=5; process_runs=2; call_runs=5; fi
time_runs() {  # time_runs ID REP RUNS COMMAND...: mean wall seconds of RUNS runs of COMMAND (each must exit 0)
  local id=$1 rep=$2 runs=$3 t0 t1 i; shift 3
  t0=$(now_ns)
  for i in $(seq 1 "$runs"); do
    bounded 300 "$@" >"$out/$id.log" 2>&1 || die "$id failed (exit $?): see $out/$id.log"
  done
  t1=$(now_ns)
  record "$id" "$rep" "$(awk -v n=$((t1 - t0)) -v k="$runs" -v id="$id" \
    'BEGIN{printf "{\"bench\":\"%s\",\"runs\":%d,\"seconds\":%.6f}", id, k, n / 1e9 / k}')"
}
run_runner() {
  local rep=$1 lines
  # In process: run_contract_tests() and the raw loop, suite by suite, each on a fresh server.
  lines=$(bounded 600 "$bin/sipcontract-bench-runner" --mode all --suites "$runner_suites" --nagle-suites 1)
  record runner "$rep" "$(grep '"bench":"runner"' <<<"$lines")"
  record raw_loop "$rep" "$(grep '"bench":"raw-loop"' <<<"$lines")"
  record raw_loop_nagle "$rep" "$(grep '"bench":"raw-loop-nagle"' <<<"$lines")"
  # What each sent, as the server counted it (one untimed suite each): the anchor must match.
  record runner_requests "$rep" "$(grep '"bench":"requests"' <<<"$lines")"
  # As processes, the way a user or CI runs it: `sipcontract run` starts its own reference server.
  # It runs the raw loop's cases (--case each), so that both send the same requests.
  if [ $((rep % 2)) -eq 1 ]; then
    time_runs runner_process "$rep" "$process_runs" "$cli" run "${runner_case_args[@]}"
    time_runs raw_process "$rep" "$process_runs" "$bin/sipcontract-bench-runner" --mode raw --suites 1
  else
    time_runs raw_process "$rep" "$process_runs" "$bin/sipcontract-bench-runner" --mode raw --suites 1
    time_runs runner_process "$rep" "$process_runs" "$cli" run "${runner_case_args[@]}"
  fi
}

# --- one payload per call ------------------------------------------------------------------------
# A caller who checks each request body before sending it runs one process per body: start-up is
# the whole cost. The anchor is the same check with ajv as a node script (bench/ajv-one.js).
one_payload=$out/one-$seed.json
if wants startup; then
  "$bin/sipcontract-bench-corpus" --seed "$seed" --count 1 --invalid-percent 0 --out "$one_payload" >/dev/null
fi
run_startup() {
  local rep=$1
  if [ $((rep % 2)) -eq 1 ]; then
    time_runs cli_one "$rep" "$call_runs" "$cli" validate request "$one_payload"
    time_runs ajv_one "$rep" "$call_runs" node "$here/ajv-one.js" --schemas "$root/contracts/v1/schemas" "$one_payload"
  else
    time_runs ajv_one "$rep" "$call_runs" node "$here/ajv-one.js" --schemas "$root/contracts/v1/schemas" "$one_payload"
    time_runs cli_one "$rep" "$call_runs" "$cli" validate request "$one_payload"
  fi
}

if wants validation || wants ndjson; then calibrate_cli; fi
if wants ndjson && ! wants validation; then
  record corpus_valid 0 "$("$bin/sipcontract-bench-corpus" --seed "$seed" --count "$count" --invalid-percent 0 \
    --out "$valid_corpus")"
fi
runner_case_args=()
if wants runner; then
  while read -r id; do runner_case_args+=(--case "$id"); done < <("$bin/sipcontract-bench-runner" --list-cases)
  [ ${#runner_case_args[@]} -gt 0 ] || die "sipcontract-bench-runner --list-cases printed no case"
fi
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$reps"); do
  say "repetition $rep/$reps"
  if wants validation; then run_validation "$rep"; fi
  if wants check && ! wants validation; then run_check "$rep"; fi
  if wants ndjson && ! wants validation; then run_ndjson "$rep"; fi
  if wants server; then run_server "$rep"; fi
  if wants runner; then run_runner "$rep"; fi
  if wants startup; then run_startup "$rep"; fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
say "measured in $(( $(date +%s) - start )) s"

{
  echo "bench/run.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(node --version), $(g++ --version | head -1)"
  if git -C "$root" rev-parse --short HEAD >/dev/null 2>&1; then
    dirty=$(git -C "$root" status --porcelain --untracked-files=no -- src cmake CMakeLists.txt contracts | awk '{print $2}' | tr '\n' ' ')
    echo "source: commit $(git -C "$root" rev-parse --short HEAD)${dirty:+, with uncommitted changes in: $dirty}"
  fi
  echo "command: bench/run.sh --reps $reps --count $count --seed $seed --min-time $min_time --wrk-duration $wrk_duration --only $only"
  echo "measured in $(( $(date +%s) - start )) s; load average before $load_before, after $load_after (other work on the machine shows here)"
  echo
} >"$out/summary.txt"
status=0
node "$here/summarize.js" "$results" >>"$out/summary.txt" || status=$?
node "$here/summarize.js" "$results" --markdown >"$out/summary.md" || true
cat "$out/summary.txt"
[ "$status" -le 1 ] || die "summarize.js failed"
exit "$status"
