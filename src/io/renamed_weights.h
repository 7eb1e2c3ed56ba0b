// A WeightSource that serves tensors stored under other names: the one place where a checkpoint's
// older key layout is translated to the Diffusers names the models ask for (as Diffusers renames
// keys at load time).
#pragma once

#include <functional>
#include <string>

#include "io/weights.h"

namespace sdfast {

class RenamedWeights final : public WeightSource {
 public:
  // `stored_name(name)` returns the key under which `inner` holds the tensor the model calls
  // `name` (or `name` itself when it is stored under its own name). `inner` must outlive this.
  RenamedWeights(WeightSource& inner,
                 std::function<std::string(const WeightSource&, const std::string&)> stored_name)
      : inner_(inner), stored_name_(std::move(stored_name)) {}

  Tensor get(const std::string& name, const Shape& shape, DType dtype) override;
  bool contains(const std::string& name) const override;
  // Unused tensors are reported under their stored names.
  void check_all_used(bool (*ignorable)(const std::string&)) const override {
    inner_.check_all_used(ignorable);
  }
  std::string describe() const override { return inner_.describe(); }

 private:
  WeightSource& inner_;
  std::function<std::string(const WeightSource&, const std::string&)> stored_name_;
};

}  // namespace sdfast
