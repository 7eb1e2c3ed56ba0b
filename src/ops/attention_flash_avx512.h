// AVX-512 flash attention (see attention_flash_avx512.cpp). Compiled only for AVX-512 targets.
#pragma once

#include "core/tensor.h"

namespace sdfast::ops::avx512 {

// q [B, Lq, H*D], k/v [B, Lk, H*D], out [B, Lq, H*D] preallocated, all of one dtype (F32, or BF16
// when the CPU has AVX512-BF16). Returns false (nothing written) for a combination it does not handle.
bool flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, int heads, bool causal);

}  // namespace sdfast::ops::avx512
