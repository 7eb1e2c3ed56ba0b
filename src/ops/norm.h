// Normalisation layers: torch.nn.GroupNorm (optionally fused with SiLU) and torch.nn.LayerNorm.
#pragma once

#include <optional>

#include "core/runtime.h"
#include "io/weights.h"

namespace sdfast::ops {

class GroupNorm {
 public:
  GroupNorm() = default;
  // Loads `weight` and `bias` [channels] under path `w` (when affine).
  GroupNorm(const Weights& w, int groups, int channels, float eps, bool affine = true);
  // x: [N, ..., C] channels last (NHWC images or [N, L, C] tokens); statistics per (n, group)
  // over all positions. silu: apply x * sigmoid(x) to the result (fused).
  // `out`: the result's dtype (default: the activation dtype; the compute dtype when it feeds a GEMM).
  Tensor forward(Runtime& rt, const Tensor& x, bool silu = false,
                 std::optional<DType> out = std::nullopt) const;
  int channels() const { return channels_; }

 private:
  int groups_ = 0, channels_ = 0;
  float eps_ = 1e-5f;
  Tensor weight_, bias_;  // F32 [C] (ones/zeros when not affine)
};

class LayerNorm {
 public:
  LayerNorm() = default;
  LayerNorm(const Weights& w, int64_t dim, float eps, bool affine = true);
  // Normalises the last dimension of x: [..., dim]; `out` as for GroupNorm.
  Tensor forward(Runtime& rt, const Tensor& x, std::optional<DType> out = std::nullopt) const;

 private:
  int64_t dim_ = 0;
  float eps_ = 1e-5f;
  Tensor weight_, bias_;  // F32 [dim]
};

}  // namespace sdfast::ops
