// 2-d convolution (torch.nn.Conv2d) through oneDNN, on NHWC activations.
#pragma once

#include <memory>
#include <string>

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/dnnl_util.h"
#include "ops/layer_hooks.h"

namespace sdfast::ops {

struct Conv2dSpec {
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 3;
  int stride = 1;
  int padding = 1;
  int extra_pad_end = 0;  // more zero padding after (right/bottom), as F.pad(x, (0,1,0,1)) before a conv
  bool bias = true;
};

// Read-only once built: a run's primitives live in its Runtime (rt.primitives()), so several runs
// may call forward at the same time.
class Conv2d {
 public:
  Conv2d() = default;
  // Loads `weight` [out, in, k, k] and `bias` [out] under path `w`.
  Conv2d(Runtime& rt, const Weights& w, const Conv2dSpec& spec);
  // From a given weight [out, in, k, k] (and bias [out] when spec.bias); `name` for messages.
  Conv2d(Runtime& rt, Tensor weight, Tensor bias, const Conv2dSpec& spec, std::string name);

  // x: [N, H, W, Cin] -> [N, Ho, Wo, Cout] in the runtime's activation dtype.
  Tensor forward(Runtime& rt, const Tensor& x) const;
  // conv(x) + residual, residual: [N, Ho, Wo, Cout] (fused: the sum is done by the convolution).
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& residual) const;
  const Conv2dSpec& spec() const { return spec_; }
  // The dtype the weights were loaded in (the precision of the Engine they were built for).
  DType weights_dtype() const { return weights_.dtype(); }

  // LoRA hooks (src/lora/), as Linear's: they mutate the layer, never while it runs.
  const std::string& name() const { return name_; }
  Tensor weight(Runtime& rt) const;  // [out, in, k, k] in the storage dtype
  PackedWeights replace_weight(Runtime& rt, const Tensor& weight);
  void restore_weight(PackedWeights old) { weights_ = std::move(old); }
  void set_adapter(std::shared_ptr<const LowRankAdapter> adapter) { adapter_ = std::move(adapter); }

 private:
  struct Prim {
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::convolution_forward prim;
  };
  const Prim& primitive(Runtime& rt, int64_t n, int64_t h, int64_t w, DType src, bool sum) const;
  Tensor run(Runtime& rt, const Tensor& x, const Tensor* residual) const;
  void init(Runtime& rt, Tensor weight, Tensor bias);  // the constructors' common part

  Conv2dSpec spec_;
  std::string name_;  // the weights' path, for messages
  PackedWeights weights_;  // packed once, shared by every run (thread-safe)
  Tensor bias_;  // F32 [out]
  std::shared_ptr<const LowRankAdapter> adapter_;  // LoRA kept unmerged, or null
};

}  // namespace sdfast::ops
