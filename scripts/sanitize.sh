#!/usr/bin/env bash
# The whole test suite (unit tests, CLI tests and every golden case) built with AddressSanitizer +
# UndefinedBehaviorSanitizer (and LeakSanitizer) into build-asan/ ($SDFAST_ASAN_BUILD_DIR). Any
# report fails the test that triggered it. Only the DISABLED full-size tests are skipped, as in
# every build.
# Usage: scripts/sanitize.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SDFAST_ASAN_BUILD_DIR:-build-asan}
SDFAST_BUILD_DIR="$build" scripts/setup.sh -DSDFAST_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSDFAST_BUILD_BENCH=OFF "$@"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
