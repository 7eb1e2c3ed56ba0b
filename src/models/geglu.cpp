// Reference: diffusers/src/diffusers/models/activations.py (GEGLU), v0.26.3.
#include "models/geglu.h"

#include "ops/elementwise.h"

namespace sdfast::models {

GEGLU::GEGLU(Runtime& rt, const Weights& w, int64_t dim_in, int64_t dim_out)
    : proj_(rt, w["proj"], dim_in, 2 * dim_out) {}

Tensor GEGLU::forward(Runtime& rt, const Tensor& x) const {
  return ops::geglu(rt, proj_.forward_as(rt, x, rt.compute()), rt.compute());  // [..., 2*dim_out] -> [..., dim_out]
}

void GEGLU::collect_layers(ops::LayerSet& out) {
  out.add(proj_);
}

}  // namespace sdfast::models
