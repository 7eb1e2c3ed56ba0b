// What LoRA (src/lora/) needs from the weight-carrying layers, kept out of Linear and Conv2d
// themselves: a list of a model's layers by their Diffusers paths, and the interface of a low-rank
// term added to a layer's output at run time.
//
// Changing a layer's weights or adapter mutates the model: it must not run while the model runs.
#pragma once

#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::ops {

class Linear;
class Conv2d;

// y + delta(x) for a layer's input x and its output y (bias, residual included; activation not
// yet applied). Linear: x [..., in], y [..., out]; Conv2d: NHWC x and y.
class LowRankAdapter {
 public:
  virtual ~LowRankAdapter() = default;
  virtual Tensor add(Runtime& rt, const Tensor& x, const Tensor& y) const = 0;
};

// The Linear and Conv2d layers of a model; each knows its Diffusers weight path (`name()`).
struct LayerSet {
  std::vector<Linear*> linears;
  std::vector<Conv2d*> convs;
  void add(Linear& l) { linears.push_back(&l); }
  void add(Conv2d& c) { convs.push_back(&c); }
};

}  // namespace sdfast::ops
