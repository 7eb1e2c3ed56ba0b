// Batch bookkeeping of the pipelines: float32 tensors stacked and repeated along dim 0 (and, for
// the inpainting UNet's input, along the channel dim), as the torch.cat / repeat calls in Diffusers'
// pipelines do. Copies only: no arithmetic.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace sdfast {

// Concatenation along dim 0 of tensors with equal trailing shapes (converted to float32).
Tensor cat0(const std::vector<Tensor>& parts);
// Every row of `t` (dim 0) repeated `times` times in place: [a, b] x2 -> [a, a, b, b]
// (Diffusers' prompt_embeds.repeat(1, n, 1).view(bs * n, L, D)).
Tensor repeat_rows(const Tensor& t, int64_t times);
// NCHW float32 tensors with equal N, H, W concatenated along C (torch.cat(parts, dim=1)).
Tensor cat_channels(const std::vector<Tensor>& parts);

}  // namespace sdfast
