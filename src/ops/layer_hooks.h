// What LoRA (src/lora/) needs from the weight-carrying layers, kept out of Linear and Conv2d
// themselves: a list of a model's layers by their Diffusers paths, and the interface of a low-rank
// term added to a layer's output at run time.
//
// Changing a layer's weights or adapter mutates the model: it must not run while the model runs.
#pragma once

#include <set>
#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::ops {

class Linear;
class Conv2d;

// Activation applied to a layer's output (Linear: inside the matmul).
enum class Activation { None, Silu, Gelu };

// A low-rank term added to a layer's output at run time.
class LowRankAdapter {
 public:
  virtual ~LowRankAdapter() = default;
  // y += delta(x), then y = act(y), in place. x: the layer's input, already in the compute dtype
  // (Linear [..., in], Conv2d NHWC); y: the layer's output (bias and residual included, activation
  // not yet applied), a buffer the layer made for this call.
  virtual void add_to(Runtime& rt, const Tensor& x, Tensor& y, Activation act) const = 0;
};

// The Linear and Conv2d layers of a model; each knows its Diffusers weight path (`name()`).
struct LayerSet {
  std::vector<Linear*> linears;
  std::vector<Conv2d*> convs;
  // Layers the model runs without the LoRA scale: an unmerged LoRA there acts at scale 1 (as
  // Diffusers 0.26 calls its time embedding); a merged one is merged at the LoRA's scale.
  std::set<const void*> unscaled;
  void add(Linear& l) { linears.push_back(&l); }
  void add(Conv2d& c) { convs.push_back(&c); }
  // Adds the layers of `other`, every one of them unscaled.
  void add_unscaled(const LayerSet& other) {
    linears.insert(linears.end(), other.linears.begin(), other.linears.end());
    convs.insert(convs.end(), other.convs.begin(), other.convs.end());
    unscaled.insert(other.linears.begin(), other.linears.end());
    unscaled.insert(other.convs.begin(), other.convs.end());
  }
};

}  // namespace sdfast::ops
