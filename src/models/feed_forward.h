// Diffusers' FeedForward (attention.py) as the UNet's transformer blocks build it:
// net.0 = GEGLU(dim, inner_dim), net.1 = dropout (inference: identity), net.2 = Linear(inner, dim).
#pragma once

#include "core/runtime.h"
#include "io/weights.h"
#include "models/geglu.h"
#include "ops/linear.h"

namespace sdfast::models {

class FeedForward {
 public:
  FeedForward() = default;
  // Weights under `w` ("ff"); inner_dim = dim * mult.
  FeedForward(Runtime& rt, const Weights& w, int64_t dim, int64_t dim_out = 0, int mult = 4);

  // x: [..., dim] -> [..., dim_out]; residual (same shape as the output) is added, fused into
  // the last projection.
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor* residual = nullptr) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  GEGLU act_;
  ops::Linear out_;
};

}  // namespace sdfast::models
