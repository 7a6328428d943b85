#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]: builds the libFuzzer targets with clang
# (ASan+UBSan) in build-fuzz and runs each for the given time (default 600 s), seeded from
# fixtures/, schemas/ and contract-tests/. A crash input lands in tests/fuzz/regressions/<target>/,
# which CTest replays in every ordinary build: fix the bug and commit the input.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
scripts/install-deps.sh --test
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPCONTRACT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for bin in build-fuzz/tests/fuzz/fuzz_*; do targets+=("${bin##*/fuzz_}"); done
fi
declare -A seeds=([validate]=fixtures [schema]=schemas [manifest]=contract-tests [server]=tests/fuzz/seeds/server)
status=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus" "tests/fuzz/regressions/$target"
  seed_dir=${seeds[$target]:-}
  [ -n "$seed_dir" ] && [ -d "$seed_dir" ] && find "$seed_dir" -type f -size -64k -exec cp -t "$corpus" {} + 2>/dev/null || true
  echo "fuzz: $target for ${seconds}s"
  if ! "build-fuzz/tests/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="tests/fuzz/regressions/$target/" 2>"build-fuzz/fuzz_$target.log"; then
    echo "fuzz: $target FAILED; the input is in tests/fuzz/regressions/$target/ (log: build-fuzz/fuzz_$target.log)"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/fuzz_$target.log" | sed "s/^/fuzz: $target /"
done
exit $status
