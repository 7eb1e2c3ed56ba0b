#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang + ASan + UBSan into build-fuzz/ and runs each
# for a bounded time, one after the other. Fails (non-zero exit) when a harness finds a crash; the
# input that crashed is left in build-fuzz/artifacts/<harness>/. New inputs that reach new code
# are kept in build-fuzz/corpus/<harness>/ (seeded by fuzz/make_corpus.sh), so later runs go on
# from there.
# Usage: scripts/fuzz.sh [seconds per harness, default 60] [harness ...]   (default: all of them)
# Needs clang and libFuzzer: scripts/setup.sh --with-clang installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${SDFAST_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${SDFAST_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
if [ -z "$cxx" ]; then
  echo "scripts/fuzz.sh: clang++ not found (scripts/setup.sh --with-clang installs it)" >&2
  exit 1
fi

# Bounded input size: a hostile input must be refused quickly, not explored for hours.
declare -A max_len=([safetensors_header]=65536 [json_config]=16384 [tokenizer_files]=32768
                    [tokenizer_encode]=4096 [scheduler_config]=4096 [image_file]=65536 [lora_file]=65536
                    [server_request]=8192 [deepcache_option]=64)
declare -A dict=([safetensors_header]=safetensors_header [json_config]=json_config
                 [tokenizer_files]=tokenizer [tokenizer_encode]=tokenizer [scheduler_config]=json_config
                 [image_file]=image_file [lora_file]=lora_file [server_request]=server_request
                 [deepcache_option]=deepcache_option)
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  harnesses=(safetensors_header json_config tokenizer_files tokenizer_encode scheduler_config image_file lora_file
             server_request deepcache_option)
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DSDFAST_FUZZ=ON -DSDFAST_BUILD_TESTS=OFF -DSDFAST_BUILD_BENCH=OFF >/dev/null
targets=()
for harness in "${harnesses[@]}"; do targets+=("fuzz_$harness"); done
cmake --build "$build" -j2 --target "${targets[@]}"
# Seeds are added to what earlier runs found (make_corpus.sh overwrites only its own files).
fuzz/make_corpus.sh "$build/corpus"

for harness in "${harnesses[@]}"; do
  mkdir -p "$build/artifacts/$harness"
  echo "== fuzz_$harness for ${seconds}s"
  log="$build/fuzz_$harness.log"
  status=0
  "$build/fuzz/fuzz_$harness" "$build/corpus/$harness" \
    -dict="fuzz/${dict[$harness]}.dict" -max_total_time="$seconds" -max_len="${max_len[$harness]}" \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$harness/" >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done |==[0-9]+==ERROR|SUMMARY)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz_$harness FAILED (exit $status); log $log, reproducer in $build/artifacts/$harness/" >&2
    exit "$status"
  fi
done
echo "fuzzing passed: ${harnesses[*]}"
