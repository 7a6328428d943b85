#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]: builds the libFuzzer targets with clang
# (ASan+UBSan, -fsanitize=fuzzer-no-link on the libraries) in build-fuzz and runs each target for
# the given time (default 600 s), one after another. Targets: validate, schema, manifest, server,
# http, response, fastpath (default: all). Corpora live in build-fuzz/corpus/<target>, seeded from fixtures/,
# contracts/v1/schemas/, contracts/v1/ and tests/fuzz/seeds/{server,http}/, and grow from run to run. A crash input lands in
# tests/fuzz/regressions/<target>/, which CTest replays in every ordinary build: fix the bug and
# commit the input. Exit 0 when no target found anything.
#
# Environment: FUZZ_JOBS=N runs N targets at once (default 1; the machine has few cores),
# FUZZ_BUILD_DIR (default build-fuzz), FUZZ_RSS_MB (default 2048).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
rss_mb=${FUZZ_RSS_MB:-2048}
all_targets=(validate schema manifest server http response fastpath)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (one of: ${all_targets[*]})" >&2; exit 2; }
done

scripts/install-deps.sh --test
CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPCONTRACT_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

declare -A seeds=([validate]=fixtures [schema]=contracts/v1/schemas [manifest]=contracts/v1 [server]=tests/fuzz/seeds/server
                  [http]="tests/fuzz/seeds/http tests/fuzz/seeds/server" [response]=fixtures/responses [fastpath]=fixtures)
# fuzz_fastpath's first byte picks a schema in the order of the built-in store (file names, bytewise).
mapfile -t schema_names < <(cd contracts/v1/schemas && ls -1 -- *.json | grep -v '\.test\.json$' | LC_ALL=C sort)

# seed TARGET CORPUS: copies the seed files in, named after their path (so equal names do not
# collide). fuzz_validate reads its first byte as the status to check against (an index into
# 0=request, 201, 401, 404, 422, 500, 418: see fuzz_validate.cpp), so each fixture gets the byte
# of the folder it lies in.
seed() {
  local target=$1 corpus=$2 f name
  while IFS= read -r -d '' f; do
    name=seed-$(echo "${f#./}" | tr '/' '_')
    if [ "$target" = validate ]; then
      local index=0
      case $f in
        */responses/201/*) index=1 ;; */responses/401/*) index=2 ;; */responses/404/*) index=3 ;;
        */responses/422/*) index=4 ;; */responses/500/*) index=5 ;;
      esac
      { printf "\\x0$index"; cat "$f"; } >"$corpus/$name"
    elif [ "$target" = response ]; then
      # fuzz_response: a case byte, a status byte (0=201, 1=422, 2=401, 3=404, 4=500), headers, body.
      local index=0
      case $f in
        */422/*) index=1 ;; */401/*) index=2 ;; */404/*) index=3 ;; */500/*) index=4 ;;
      esac
      { printf "\\x00\\x0$index"; printf 'Content-Type: application/json\n\n'; cat "$f"; } >"$corpus/$name"
    elif [ "$target" = fastpath ]; then
      # fuzz_fastpath: a schema byte, a parse-limits byte (0: the defaults), the text.
      local schema=create-sip-endpoint.request.json index=0 i
      case $f in
        */responses/201/*) schema=create-sip-endpoint.response-201.json ;;
        */responses/*) schema=error-$(echo "$f" | sed -E 's|.*/responses/([0-9]+)/.*|\1|').json ;;
      esac
      for i in "${!schema_names[@]}"; do [ "${schema_names[$i]}" = "$schema" ] && index=$i; done
      { printf "\\x$(printf %02x "$index")\\x00"; cat "$f"; } >"$corpus/$name"
    else
      cp "$f" "$corpus/$name"
    fi
  # shellcheck disable=SC2086  # a target may have several seed folders
  done < <(find ${seeds[$target]} -type f -size -64k -print0)
}

# run_target TARGET: one libFuzzer run; prints a summary line, returns 1 when it found something.
run_target() {
  local target=$1 corpus=$build/corpus/$1 log=$build/fuzz_$1.log dict=tests/fuzz/$1.dict
  mkdir -p "$corpus" "tests/fuzz/regressions/$target"
  seed "$target" "$corpus"
  local args=("$corpus" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=25 -max_len=65536
              -print_final_stats=1 -artifact_prefix="tests/fuzz/regressions/$target/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  local start=$SECONDS rc=0
  # detect_leaks stays on (the default under ASan): a leak is a finding like a crash.
  "$build/tests/fuzz/fuzz_$target" "${args[@]}" >"$log" 2>&1 || rc=$?
  local execs rss corpus_size
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  corpus_size=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $target FAILED after $((SECONDS - start)) s: the input is in tests/fuzz/regressions/$target/ (log: $log)"
    grep -E "^==[0-9]+==ERROR|^SUMMARY|runtime error|fuzz_[a-z]+: " "$log" | head -5 | sed "s/^/fuzz: $target   /"
    return 1
  fi
  echo "fuzz: $target ok: ${execs:-?} executions in $((SECONDS - start)) s ($(( ${execs:-0} / (SECONDS - start > 0 ? SECONDS - start : 1) ))/s), corpus $corpus_size files, peak RSS ${rss:-?} MB"
}

status=0
pids=()
names=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds} s"
  if [ "$jobs" -le 1 ]; then
    run_target "$target" || status=1
  else
    run_target "$target" & pids+=($!); names+=("$target")
    if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
