#include "io/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "core/error.h"
#include "io/file_names.h"
#include "io/memory_budget.h"

namespace sdfast {

SafetensorsWeights::SafetensorsWeights(const std::vector<std::string>& files) {
  SDFAST_CHECK(!files.empty(), "no safetensors files given");
  for (const std::string& path : files) {
    files_.push_back(SafetensorsFile::open(path));
    for (const TensorInfo& t : files_.back()->tensors()) {
      auto [it, inserted] = where_.emplace(t.name, files_.size() - 1);
      if (!inserted)
        fail("tensor '", printable(t.name), "' is in both '", files_[it->second]->path(), "' and '",
             path, "'");
    }
  }
}

std::unique_ptr<SafetensorsWeights> SafetensorsWeights::from_index(const ShardIndex& index) {
  auto w = std::make_unique<SafetensorsWeights>(index.shards);
  const auto& where = w->where_;
  const auto& files = w->files_;
  for (const auto& [name, shard] : index.weight_map) {
    auto it = where.find(name);
    if (it == where.end())
      fail("'", index.path, "' lists tensor '", printable(name), "' in '", shard,
           "', which does not hold it");
    if (files[it->second]->path() != shard)
      fail("'", index.path, "' lists tensor '", printable(name), "' in '", shard,
           "', but it is in '", files[it->second]->path(), "'");
  }
  for (const auto& [name, idx] : where)
    if (!index.weight_map.count(name))
      fail("tensor '", printable(name), "' in '", files[idx]->path(), "' is not listed in '",
           index.path, "'");
  return w;
}

Tensor SafetensorsWeights::get(const std::string& name, const Shape& shape, DType dtype) {
  auto it = where_.find(name);
  if (it == where_.end())
    fail("missing tensor '", name, "' ", shape_str(shape), " in ", describe());
  const SafetensorsFile& f = *files_[it->second];
  const TensorInfo& t = f.info(name);
  if (t.shape != shape)
    fail("tensor '", name, "' in '", f.path(), "' has shape ", shape_str(t.shape), ", expected ",
         shape_str(shape), " (from config.json)");
  if (!dtype_is_float(t.dtype) && dtype_is_float(dtype))
    fail("tensor '", name, "' in '", f.path(), "' is ", dtype_name(t.dtype),
         ", expected a floating-point dtype");
  Tensor out = f.load(t, dtype);
  f.release(t);
  used_.insert(name);
  parameters_ += out.numel();
  return out;
}

bool SafetensorsWeights::contains(const std::string& name) const { return where_.count(name) != 0; }

void SafetensorsWeights::check_all_used(bool (*ignorable)(const std::string&)) const {
  std::vector<std::string> unused;
  for (const auto& [name, idx] : where_)
    if (!used_.count(name) && !(ignorable && ignorable(name))) unused.push_back(name);
  if (unused.empty()) return;
  std::string list;
  for (size_t i = 0; i < unused.size() && i < 10; ++i)
    list += (i ? ", '" : "'") + printable(unused[i]) + "'";
  if (unused.size() > 10) list += str_cat(", ... (", unused.size(), " in all)");
  fail(describe(), " has unexpected tensor", unused.size() > 1 ? "s " : " ", list,
       " that the model built from config.json does not use");
}

std::string SafetensorsWeights::describe() const {
  std::string s;
  for (size_t i = 0; i < files_.size(); ++i) s += (i ? ", '" : "'") + files_[i]->path() + "'";
  return s;
}

namespace {
uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

Tensor RandomWeights::get(const std::string& name, const Shape& shape, DType dtype) {
  if (budget_) {
    // Drawn in float32, then kept in `dtype` (at most 8 bytes an element: no overflow).
    const uint64_t numel = uint64_t(shape_numel(shape));
    const uint64_t element = std::max<uint64_t>(4, dtype_size(dtype));
    if (numel > *budget_ / element)
      fail("random weights for ", origin_, ": tensor '", name, "' ", shape_str(shape), " needs ",
           numel > UINT64_MAX / element ? std::string("more than 16 EiB")
                                        : format_bytes(numel * element),
           ", but only ", format_bytes(*budget_),
           " of the memory available is left (the config asks for a model larger than fits)");
    *budget_ -= numel * dtype_size(dtype);
  }
  Tensor out = Tensor::empty(shape, DType::F32);
  std::mt19937_64 rng(fnv1a(name, 1469598103934665603ull ^ seed_));
  float* p = out.data<float>();
  const int64_t n = out.numel();
  const bool bias = ends_with(name, "bias");
  if (shape.size() <= 1) {
    // Norm scales near 1, biases near 0.
    std::normal_distribution<float> d(bias ? 0.0f : 1.0f, bias ? 0.02f : 0.05f);
    for (int64_t i = 0; i < n; ++i) p[i] = d(rng);
  } else {
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    if (ends_with(name, "embedding.weight")) fan_in = 1;  // token/position tables: unit scale
    std::normal_distribution<float> d(0.0f,
                                      float(1.0 / std::sqrt(double(std::max<int64_t>(fan_in, 1)))));
    for (int64_t i = 0; i < n; ++i) p[i] = d(rng);
  }
  parameters_ += n;
  return dtype == DType::F32 ? out : out.to(dtype);
}

std::string RandomWeights::describe() const { return str_cat("random weights (seed ", seed_, ")"); }

}  // namespace sdfast
