#include "io/renamed_weights.h"

namespace sdfast {

Tensor RenamedWeights::get(const std::string& name, const Shape& shape, DType dtype) {
  Tensor t = inner_.get(stored_name_(inner_, name), shape, dtype);
  parameters_ += t.numel();
  return t;
}

bool RenamedWeights::contains(const std::string& name) const {
  return inner_.contains(stored_name_(inner_, name));
}

}  // namespace sdfast
