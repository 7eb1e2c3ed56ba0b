#!/usr/bin/env bash
# Installs the Debian 12 packages sdfast needs (when missing) and builds it into build/
# ($SDFAST_BUILD_DIR).
# Usage: scripts/setup.sh [--with-clang] [extra cmake arguments]
#   --with-clang  also install clang and its runtime libraries (libFuzzer, sanitizers), which
#                 scripts/fuzz.sh needs, and clang's OpenMP runtime (scripts/tsan.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# libdnnl-dev's dnnl-config.cmake calls find_package(OpenCL): its library and headers are needed
# to configure even a CPU-only build (ocl-icd-opencl-dev, opencl-headers). `sdfast serve` needs
# cpp-httplib, libturbojpeg and libwebp; its tests (tests/server) run python3 with PIL.
# pybind11-dev and python3-dev build the Python module (import sdfast; python/), whose runtime and
# tests use Debian's python3-numpy, python3-pil and python3-pytest.
PACKAGES=(g++ make cmake pkg-config libdnnl-dev ocl-icd-opencl-dev opencl-headers
          libhwy-dev nlohmann-json3-dev libcli11-dev libutf8proc-dev libpng-dev libspng-dev libturbojpeg0-dev libwebp-dev
          libgtest-dev libbenchmark-dev pybind11-dev python3-dev python3-numpy python3-pil python3-pytest
          libcpp-httplib-dev)
cmake_args=()
for arg in "$@"; do
  if [ "$arg" = "--with-clang" ]; then
    PACKAGES+=(clang libclang-rt-14-dev libomp-14-dev)
  else
    cmake_args+=("$arg")
  fi
done
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "sdfast setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR="${SDFAST_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
