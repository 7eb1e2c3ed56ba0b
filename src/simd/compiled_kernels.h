// The tables simd/kernels_hwy.cpp compiled, by Highway target bit (HWY_AVX3, HWY_AVX2, ...), and the
// AVX512-BF16 flash attention kernel of simd/flash_bf16_avx512.cpp. Used by simd/dispatch.cpp only.
#pragma once

#include <cstdint>

#include "simd/kernels.h"

namespace sdfast::simd {

// The table compiled for a Highway target, or null when that target was not compiled.
const Kernels* compiled_kernels(int64_t target);
// The target every x86-64 (or Arm) CPU runs: the build's baseline.
int64_t baseline_target();
// Flash attention on bf16-packed inputs with vdpbf16ps; only to be called on CPUs with
// AVX512-BF16 (null when the compiler cannot build it).
extern void (*const flash_bf16_avx512)(const FlashBlock& blk);

}  // namespace sdfast::simd
