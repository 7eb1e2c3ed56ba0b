// A LoRA kept unmerged: the low-rank terms of one layer, added to its output at run time.
//
// Two oneDNN products per layer, whatever the number of LoRAs on it: h = down(x) (a matmul; for a
// Conv2d, a convolution with the layer's kernel, stride and padding) in the compute dtype, then
// y += h @ up^T accumulated straight into the layer's output by the up matmul (a `sum` post-op,
// the layer's activation as a post-op after it): no separate elementwise pass. Several LoRAs on
// one layer are concatenated (their down rows, their up columns), each one's scale * alpha/rank
// folded into its up columns, so a scale change means a new adapter (LoraStack does that).
// The low-rank weights are kept in the compute dtype, reordered once into the primitives' layout;
// primitives live in the run's cache (rt.primitives()), as the layers' do. Read-only once built:
// several runs may use it at the same time.
//
// Reference: diffusers/src/diffusers/models/lora.py (LoRALinearLayer, LoRAConv2dLayer,
// LoRACompatibleLinear.forward, LoRACompatibleConv.forward), v0.26.3.
#pragma once

#include <string>
#include <vector>

#include "core/runtime.h"
#include "ops/conv2d.h"
#include "ops/dnnl_util.h"
#include "ops/layer_hooks.h"
#include "ops/linear.h"

namespace sdfast::lora {

// One LoRA's term on a layer: coef * up(down(x)).
struct LowRankTerm {
  Tensor down;  // float32 [r, in] (Linear) or [r, in, k, k] (Conv2d, the layer's kernel)
  Tensor up;    // float32 [out, r]
  float coef = 1;  // scale * alpha / rank
};

class LoraAdapter final : public ops::LowRankAdapter {
 public:
  // For `layer`, with at least one term (each checked against the layer's shape).
  LoraAdapter(Runtime& rt, const ops::Linear& layer, const std::vector<LowRankTerm>& terms);
  LoraAdapter(Runtime& rt, const ops::Conv2d& layer, const std::vector<LowRankTerm>& terms);

  void add_to(Runtime& rt, const Tensor& x, Tensor& y, ops::Activation act) const override;
  // The summed rank of the terms.
  int64_t rank() const { return rank_; }

 private:
  struct Prims {
    dnnl::primitive_desc down_pd;  // matmul or convolution
    dnnl::primitive down;
    dnnl::matmul::primitive_desc up_pd;
    dnnl::matmul up;
  };
  // Concatenates the terms: down_ rows, up_ columns (coef folded in), in the compute dtype.
  void concatenate(Runtime& rt, const std::vector<LowRankTerm>& terms, int64_t k);
  const Prims& primitives(Runtime& rt, const Tensor& x, const Tensor& y, ops::Activation act) const;

  std::string name_;  // "<layer path> (LoRA)", for messages
  int64_t in_ = 0, out_ = 0, rank_ = 0;
  bool conv_ = false;
  ops::Conv2dSpec spec_;  // conv_: the layer's kernel, stride, padding
  ops::PackedWeights down_, up_;
};

}  // namespace sdfast::lora
