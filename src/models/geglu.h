// Diffusers' GEGLU (activations.py): a projection to twice the width, then value * gelu(gate)
// (the first half of the projection is the value, the second half the gate; exact erf GELU).
#pragma once

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/linear.h"

namespace sdfast::models {

class GEGLU {
 public:
  GEGLU() = default;
  // Weights under `w` ("ff.net.0"): proj.weight [2*dim_out, dim_in], proj.bias [2*dim_out].
  GEGLU(Runtime& rt, const Weights& w, int64_t dim_in, int64_t dim_out);

  // x: [..., dim_in] -> [..., dim_out]
  Tensor forward(Runtime& rt, const Tensor& x) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  ops::Linear proj_;
};

}  // namespace sdfast::models
