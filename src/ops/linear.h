// Fully connected layer (torch.nn.Linear: y = x W^T + b) through oneDNN matmul.
#pragma once

#include <memory>
#include <string>
#include <optional>

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/dnnl_util.h"
#include "ops/layer_hooks.h"

namespace sdfast::ops {

// Read-only once built: a run's primitives live in its Runtime (rt.primitives()), so several runs
// may call forward at the same time.
class Linear {
 public:
  Linear() = default;
  // Loads `weight` [out, in] and (if `bias`) `bias` [out] under path `w`.
  Linear(Runtime& rt, const Weights& w, int64_t in_features, int64_t out_features, bool bias = true);
  // Builds from given weights (e.g. several projections concatenated): weight [out, in], bias [out].
  // `name`: the weights' path, for messages and LoRA.
  Linear(Runtime& rt, Tensor weight, Tensor bias, std::string name = "");

  // x: [..., in] -> [..., out] (activation dtype), act applied after the bias.
  Tensor forward(Runtime& rt, const Tensor& x, Activation act = Activation::None) const;
  // The same with the output in `out` (e.g. the compute dtype when it feeds another GEMM).
  Tensor forward_as(Runtime& rt, const Tensor& x, DType out, Activation act = Activation::None) const;
  // x W^T + b + residual; residual: [..., out].
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& residual) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // The dtype the weights were loaded in (the precision of the Engine they were built for).
  DType weights_dtype() const { return weights_.dtype(); }

  // LoRA hooks (src/lora/). They mutate the layer: never while it runs.
  const std::string& name() const { return name_; }
  // The weight [out, in] in its storage dtype (an exact copy of the bytes, unpacked).
  Tensor weight(Runtime& rt) const;
  // Installs `weight` [out, in] (converted to the storage dtype) and returns the weights it replaces.
  PackedWeights replace_weight(Runtime& rt, const Tensor& weight);
  // Puts back weights returned by replace_weight (bit-identical).
  void restore_weight(PackedWeights old) { weights_ = std::move(old); }
  // A low-rank term added to every output from now on (null: none).
  void set_adapter(std::shared_ptr<const LowRankAdapter> adapter) { adapter_ = std::move(adapter); }

 private:
  struct Prim {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul prim;
  };
  const Prim& primitive(Runtime& rt, int64_t m, DType src, DType dst, Activation act,
                        std::optional<DType> residual) const;
  // The matmul, plus the adapter's low-rank term when there is one.
  Tensor run(Runtime& rt, const Tensor& x, Activation act, const Tensor* residual, DType out) const;

  int64_t in_ = 0, out_ = 0;
  std::string name_;  // the weights' path ("down_blocks.0.attentions.0.proj_in"), for messages
  PackedWeights weights_;  // packed once, shared by every run (thread-safe)
  Tensor bias_;  // F32 [1, out] or undefined
  std::shared_ptr<const LowRankAdapter> adapter_;  // LoRA kept unmerged, or null
};

}  // namespace sdfast::ops
