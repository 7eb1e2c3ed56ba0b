#!/usr/bin/env bash
# ThreadSanitizer stage: builds the library and the concurrency test only (sdfast_concurrency_test:
# two generate() calls at once on one loaded Pipeline) with clang -fsanitize=thread into build-tsan/
# ($SDFAST_TSAN_BUILD_DIR), and runs it. Any data race report fails it.
#
# OpenMP: clang's own runtime, libomp (Debian libomp-14-dev, pulled in by clang), whose barriers
# ThreadSanitizer understands (LLVM's Archer support, built into libomp). GCC's libgomp is not
# instrumented and would report false races between an OpenMP team's threads. oneDNN is the
# system's prebuilt library: its own code is not instrumented (its accesses are not checked; calls
# from it into OpenMP resolve to libomp, which provides the GOMP_* entry points).
# Usage: scripts/tsan.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SDFAST_TSAN_BUILD_DIR:-build-tsan}
scripts/setup.sh --with-clang >/dev/null  # clang, its sanitizer runtimes and libomp; build/ is up to date
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSDFAST_TSAN=ON -DSDFAST_BUILD_BENCH=OFF "${launcher[@]}" "$@" >/dev/null
ninja -C "$build" -j"$(nproc)" sdfast_concurrency_test
# ignore_noninstrumented_modules: libomp asks for it (its own locks, taken inside a parallel region,
# are not instrumented and otherwise show up as false races); races in sdfast's code are still caught.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1}
export OMP_WAIT_POLICY=PASSIVE
"$build/tests/sdfast_concurrency_test"
