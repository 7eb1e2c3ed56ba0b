// Scaled dot-product attention over multi-head projections, softmax(Q K^T / sqrt(d)) V.
//
// Inputs are the projection outputs as they come out of the Linear layers, heads interleaved in
// the feature dimension (no transposes): q [B, Lq, H*D], k and v [B, Lk, H*D] -> [B, Lq, H*D],
// in the inputs' dtype (F32 or BF16; the statistics and accumulation are float32 either way).
#pragma once

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::ops {

// Uses the runtime's kernel choice (flash by default).
Tensor attention(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                 bool causal = false);

// Memory-efficient: tiles of queries against streamed blocks of keys with an online softmax;
// the Lq x Lk score matrix is never materialised. float32 accumulation. Runs the block kernels of
// the runtime's kernel variant (simd/kernels.h): native bf16 dot products for bf16 inputs where the
// CPU has them, float32 otherwise.
Tensor attention_flash(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                       bool causal = false);

// Reference formulation: the full [B, H, Lq, Lk] score matrix (oneDNN batched matmuls + softmax),
// as Diffusers' default attention processor computes it.
Tensor attention_naive(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                       bool causal = false);

}  // namespace sdfast::ops
