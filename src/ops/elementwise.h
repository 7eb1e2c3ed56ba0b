// Element-wise arithmetic, activations, concatenation and layout changes on activations.
#pragma once

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::ops {

// a + b (same shape), or a + b broadcast over the leading dims when b has fewer elements and
// a.numel() is a multiple of b.numel() (e.g. [N, H, W, C] + [C]). Result in the activation dtype.
Tensor add(Runtime& rt, const Tensor& a, const Tensor& b);
// (a + b) * scale.
Tensor add_scaled(Runtime& rt, const Tensor& a, const Tensor& b, float scale);
// x * scale.
Tensor scale(Runtime& rt, const Tensor& x, float s);
// Per-sample channel bias: x [N, ..., C] + bias [N, C] (bias broadcast over the positions).
Tensor add_channel_bias(Runtime& rt, const Tensor& x, const Tensor& bias);

// Activations (results in the activation dtype).
Tensor silu(Runtime& rt, const Tensor& x);        // x * sigmoid(x)
Tensor gelu(Runtime& rt, const Tensor& x);        // exact (erf) GELU
Tensor quick_gelu(Runtime& rt, const Tensor& x);  // x * sigmoid(1.702 x) (CLIP)
Tensor relu(Runtime& rt, const Tensor& x);
// GEGLU's gate: x [..., 2F] -> x[..., :F] * gelu(x[..., F:]), in `out` (it feeds a GEMM).
Tensor geglu(Runtime& rt, const Tensor& x, DType out);
// tanh(x / c) * c (TAESD's latent clamp).
Tensor tanh_clamp(Runtime& rt, const Tensor& x, float c);

// Concatenation along the last (channel) dimension: [..., Ca] + [..., Cb] -> [..., Ca+Cb].
Tensor concat_last(Runtime& rt, const Tensor& a, const Tensor& b);

// Layout at model boundaries. nchw_to_nhwc converts to `dtype`; nhwc_to_nchw returns float32.
Tensor nchw_to_nhwc(const Tensor& x, DType dtype);
Tensor nhwc_to_nchw(const Tensor& x);

// Nearest-neighbour resize of NHWC x to [N, out_h, out_w, C], as torch's F.interpolate(mode="nearest").
Tensor upsample_nearest(Runtime& rt, const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace sdfast::ops
