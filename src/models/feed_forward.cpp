// Reference: diffusers/src/diffusers/models/attention.py (FeedForward, activation_fn "geglu"),
// v0.26.3.
#include "models/feed_forward.h"

#include "core/error.h"

namespace sdfast::models {

FeedForward::FeedForward(Runtime& rt, const Weights& w, int64_t dim, int64_t dim_out, int mult) {
  if (dim_out == 0) dim_out = dim;
  SDFAST_CHECK(dim > 0 && dim_out > 0 && mult > 0, "FeedForward '", w.prefix(),
               "': invalid dimensions (dim ", dim, ", dim_out ", dim_out, ", mult ", mult, ")");
  const int64_t inner = dim * mult;
  act_ = GEGLU(rt, w["net"][0], dim, inner);
  out_ = ops::Linear(rt, w["net"][2], inner, dim_out);
}

Tensor FeedForward::forward(Runtime& rt, const Tensor& x, const Tensor* residual) const {
  const Tensor h = act_.forward(rt, x);  // [..., inner]
  return residual ? out_.forward(rt, h, *residual) : out_.forward(rt, h);
}

void FeedForward::collect_layers(ops::LayerSet& out) {
  act_.collect_layers(out);
  out.add(out_);
}

}  // namespace sdfast::models
