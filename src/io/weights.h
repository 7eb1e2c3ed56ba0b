// Where model weights come from: safetensors files (strictly checked) or seeded random values.
//
// Models ask for every tensor by its Diffusers / Hugging Face key with the shape their config
// implies; the source checks presence and shape and, at the end, that nothing was left unused.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"
#include "io/shard_index.h"

namespace sdfast {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The tensor `name`, which must have exactly `shape`, converted to `dtype`.
  // Throws Error naming the tensor, expected and found shapes, and the file.
  virtual Tensor get(const std::string& name, const Shape& shape, DType dtype) = 0;
  virtual bool contains(const std::string& name) const = 0;
  // Throws Error listing tensors in the source that no get() asked for, other than names for
  // which `ignorable(name)` is true (e.g. `position_ids`).
  virtual void check_all_used(bool (*ignorable)(const std::string&) = nullptr) const = 0;
  // What the weights are, for messages: the file path(s) or "random weights (seed S)".
  virtual std::string describe() const = 0;
  // Number of parameters handed out so far.
  int64_t parameters_loaded() const { return parameters_; }

 protected:
  int64_t parameters_ = 0;
};

// Tensors from one or several safetensors files (shards); each name must be in exactly one.
class SafetensorsWeights final : public WeightSource {
 public:
  explicit SafetensorsWeights(const std::vector<std::string>& files);
  // The shards of a sharded checkpoint; additionally checks that the index and the shards agree
  // (every indexed tensor is in the shard the index names, every tensor is indexed).
  static std::unique_ptr<SafetensorsWeights> from_index(const ShardIndex& index);
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override;
  bool contains(const std::string& name) const override;
  void check_all_used(bool (*ignorable)(const std::string&)) const override;
  std::string describe() const override;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
  std::set<std::string> used_;
};

// Seeded random weights for config-only folders (benchmarks). Each tensor is generated directly
// in its final buffer from a seed derived from its name, so values do not depend on load order.
// Norm scales are drawn around 1, biases around 0, matrices with std 1/sqrt(fan_in).
class RandomWeights final : public WeightSource {
 public:
  // `budget`, when given, holds the bytes that random tensors may still take (the memory
  // available, shared by the sources of one pipeline): a config.json can ask for any size, and a
  // tensor that does not fit is an Error naming `origin` before it is allocated.
  explicit RandomWeights(uint64_t seed, uint64_t* budget = nullptr, std::string origin = "")
      : seed_(seed), budget_(budget), origin_(std::move(origin)) {}
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override;
  bool contains(const std::string&) const override { return true; }
  void check_all_used(bool (*)(const std::string&)) const override {}
  std::string describe() const override;

 private:
  uint64_t seed_;
  uint64_t* budget_;
  std::string origin_;
};

// A path into a WeightSource, like candle's VarBuilder: w["down_blocks"][0]["resnets"][1].
class Weights {
 public:
  explicit Weights(WeightSource& source, DType dtype = DType::F32, std::string prefix = "")
      : source_(&source), dtype_(dtype), prefix_(std::move(prefix)) {}

  Weights operator[](const std::string& child) const {
    return Weights(*source_, dtype_, join(child));
  }
  Weights operator[](int64_t index) const { return (*this)[std::to_string(index)]; }
  // The same path with another storage dtype for the tensors it hands out.
  Weights with_dtype(DType dtype) const { return Weights(*source_, dtype, prefix_); }

  // Tensor `prefix.leaf` with exactly `shape`, in this path's dtype (or `dtype` when given).
  Tensor get(const std::string& leaf, const Shape& shape) const {
    return source_->get(join(leaf), shape, dtype_);
  }
  Tensor get(const std::string& leaf, const Shape& shape, DType dtype) const {
    return source_->get(join(leaf), shape, dtype);
  }
  bool has(const std::string& leaf) const { return source_->contains(join(leaf)); }
  const std::string& prefix() const { return prefix_; }
  DType dtype() const { return dtype_; }
  WeightSource& source() const { return *source_; }

 private:
  std::string join(const std::string& leaf) const {
    return prefix_.empty() ? leaf : prefix_ + "." + leaf;
  }

  WeightSource* source_;
  DType dtype_;
  std::string prefix_;
};

}  // namespace sdfast
