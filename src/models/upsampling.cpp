// Reference: diffusers/src/diffusers/models/upsampling.py (Upsample2D, use_conv=True, nearest).
#include "models/upsampling.h"

#include "ops/elementwise.h"

namespace sdfast::models {

Upsample2D::Upsample2D(Runtime& rt, const Weights& w, int channels, int out_channels)
    : conv_(rt, w["conv"], {channels, out_channels, 3, 1, 1}) {}

Tensor Upsample2D::forward(Runtime& rt, const Tensor& x, int64_t out_h, int64_t out_w) const {
  if (out_h <= 0 || out_w <= 0) {
    out_h = 2 * x.dim(1);
    out_w = 2 * x.dim(2);
  }
  return conv_.forward(rt, ops::upsample_nearest(rt, x, out_h, out_w));
}

void Upsample2D::collect_layers(ops::LayerSet& out) {
  out.add(conv_);
}

}  // namespace sdfast::models
