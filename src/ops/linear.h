// Fully connected layer (torch.nn.Linear: y = x W^T + b) through oneDNN matmul.
#pragma once

#include <map>
#include <string>
#include <optional>
#include <tuple>

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/dnnl_util.h"

namespace sdfast::ops {

// Activation applied to the output inside the matmul.
enum class Activation { None, Silu, Gelu };

class Linear {
 public:
  Linear() = default;
  // Loads `weight` [out, in] and (if `bias`) `bias` [out] under path `w`.
  Linear(Runtime& rt, const Weights& w, int64_t in_features, int64_t out_features, bool bias = true);
  // Builds from given weights (e.g. several projections concatenated): weight [out, in], bias [out].
  Linear(Runtime& rt, Tensor weight, Tensor bias);

  // x: [..., in] -> [..., out] (activation dtype), act applied after the bias.
  Tensor forward(Runtime& rt, const Tensor& x, Activation act = Activation::None) const;
  // The same with the output in `out` (e.g. the compute dtype when it feeds another GEMM).
  Tensor forward_as(Runtime& rt, const Tensor& x, DType out, Activation act = Activation::None) const;
  // x W^T + b + residual; residual: [..., out].
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& residual) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  struct Prim {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul prim;
  };
  const Prim& primitive(Runtime& rt, int64_t m, DType src, DType dst, Activation act,
                        std::optional<DType> residual) const;
  Tensor run(Runtime& rt, const Tensor& x, Activation act, const Tensor* residual, DType out) const;

  int64_t in_ = 0, out_ = 0;
  std::string name_;  // the weights' path ("down_blocks.0.attentions.0.proj_in"), for messages
  mutable PackedWeights weights_;
  Tensor bias_;  // F32 [1, out] or undefined
  mutable std::map<std::tuple<int64_t, DType, DType, Activation, std::optional<DType>>, Prim> cache_;
};

}  // namespace sdfast::ops
