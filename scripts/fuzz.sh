#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang + ASan + UBSan into build-fuzz/ and runs each
# for a bounded time. Fails (non-zero exit) when a harness finds a crash; the input that crashed
# is left in build-fuzz/artifacts/<harness>/.
# Usage: scripts/fuzz.sh [seconds per harness, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${SDFAST_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${SDFAST_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DSDFAST_FUZZ=ON -DSDFAST_BUILD_TESTS=OFF -DSDFAST_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_safetensors_header fuzz_json_config
fuzz/make_corpus.sh "$build/corpus"

# Bounded memory and input size: a hostile input must be refused quickly, not explored for hours.
declare -A max_len=([safetensors_header]=65536 [json_config]=16384)
for harness in safetensors_header json_config; do
  mkdir -p "$build/artifacts/$harness"
  echo "== fuzz_$harness for ${seconds}s"
  log="$build/fuzz_$harness.log"
  status=0
  "$build/fuzz/fuzz_$harness" "$build/corpus/$harness" \
    -dict="fuzz/$harness.dict" -max_total_time="$seconds" -max_len="${max_len[$harness]}" \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$harness/" >"$log" 2>&1 || status=$?
  grep -E "^(stat::|Done |==[0-9]+==ERROR|SUMMARY)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz_$harness FAILED (exit $status); log $log, reproducer in $build/artifacts/$harness/" >&2
    exit "$status"
  fi
done
echo "fuzzing passed"
