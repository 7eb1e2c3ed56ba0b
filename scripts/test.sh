#!/usr/bin/env bash
# Set-up (packages + build) and the whole test suite: unit tests and every vendored golden case.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
ctest --test-dir "${SDFAST_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
