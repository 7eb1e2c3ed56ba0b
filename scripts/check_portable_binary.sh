#!/usr/bin/env bash
# Checks that an x86-64 binary runs on any x86-64 CPU: no AVX/AVX2/AVX-512 instruction (ymm or zmm
# register) outside the kernels that run only after the CPU was checked (Highway's per-target
# namespaces N_AVX2/N_AVX3 and the AVX512-BF16 flash kernel in simd::(anonymous namespace)).
# Usage: scripts/check_portable_binary.sh BINARY
set -euo pipefail
bin=${1:?usage: $0 BINARY}
leaks=$(objdump -d --no-show-raw-insn -C "$bin" |
  awk '/^[0-9a-f]+ <.*>:$/ {fn = $0} /[%]?[yz]mm[0-9]/ { if (fn != last) { print fn; last = fn } }' |
  grep -v -e 'N_AVX3::' -e 'N_AVX2::' -e 'sdfast::simd::(anonymous namespace)::' || true)
if [ -n "$leaks" ]; then
  echo "FAIL: $bin uses AVX registers outside the dispatched kernels, in:"
  echo "$leaks" | head -20
  exit 1
fi
echo "PASS: $bin uses AVX registers only in the dispatched kernels"
