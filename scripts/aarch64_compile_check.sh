#!/usr/bin/env bash
# Cross-compiles the vector kernels (src/simd/: Highway's NEON target, the dispatch code) for
# aarch64 with Debian's g++-aarch64-linux-gnu, installed when missing. Compiles only: nothing here
# runs them, and the rest of sdfast would need aarch64 builds of oneDNN and the other libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=aarch64-linux-gnu-g++
if ! command -v "$CXX" >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu libhwy-dev
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in src/simd/*.cpp; do
  # Highway's headers are architecture-independent; /usr/include comes after the cross compiler's own.
  "$CXX" -std=c++20 -O2 -Wall -Wextra -Wno-unused-parameter -Werror -Isrc -Iinclude -idirafter /usr/include \
    -c "$f" -o "$out/$(basename "$f").o"
done
targets=$(aarch64-linux-gnu-nm -C "$out/kernels_hwy.cpp.o" | grep -o 'N_[A-Z0-9_]*::kKernels' | sort -u | tr '\n' ' ')
echo "aarch64: src/simd compiles; kernel tables: ${targets:-none}"
[ -n "$targets" ]
