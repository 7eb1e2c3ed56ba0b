// 2-d convolution (torch.nn.Conv2d) through oneDNN, on NHWC activations.
#pragma once

#include <string>

#include <map>
#include <tuple>

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/dnnl_util.h"

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

class Conv2d {
 public:
  Conv2d() = default;
  // Loads `weight` [out, in, k, k] and `bias` [out] under path `w`.
  Conv2d(Runtime& rt, const Weights& w, const Conv2dSpec& spec);

  // x: [N, H, W, Cin] -> [N, Ho, Wo, Cout] in the runtime's activation dtype.
  Tensor forward(Runtime& rt, const Tensor& x) const;
  // conv(x) + residual, residual: [N, Ho, Wo, Cout] (fused: the sum is done by the convolution).
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& residual) const;
  const Conv2dSpec& spec() const { return spec_; }

 private:
  struct Prim {
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::convolution_forward prim;
  };
  const Prim& primitive(Runtime& rt, int64_t n, int64_t h, int64_t w, DType src, bool sum) const;
  Tensor run(Runtime& rt, const Tensor& x, const Tensor* residual) const;

  Conv2dSpec spec_;
  std::string name_;  // the weights' path, for messages
  mutable PackedWeights weights_;
  Tensor bias_;  // F32 [out]
  mutable std::map<std::tuple<int64_t, int64_t, int64_t, DType, bool>, Prim> cache_;
};

}  // namespace sdfast::ops
