// Reference: diffusers/src/diffusers/models/downsampling.py (Downsample2D, use_conv=True).
#include "models/downsampling.h"

namespace sdfast::models {

Downsample2D::Downsample2D(Runtime& rt, const Weights& w, int channels, int out_channels, int padding) {
  SDFAST_CHECK(padding >= 0, "Downsample2D '", w.prefix(), "': negative padding ", padding);
  conv_ = ops::Conv2d(rt, w["conv"],
                      {channels, out_channels, 3, 2, padding, /*extra_pad_end=*/padding == 0 ? 1 : 0});
}

void Downsample2D::collect_layers(ops::LayerSet& out) {
  out.add(conv_);
}

}  // namespace sdfast::models
