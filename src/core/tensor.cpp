#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "core/buffer_pool.h"
#include "core/error.h"

namespace sdfast {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    SDFAST_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    SDFAST_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d, "shape ",
                 shape_str(shape), " has too many elements");
    n *= d;
  }
  return n;
}

Tensor Tensor::empty(Shape shape, DType dtype) {
  Tensor t;
  const int64_t n = shape_numel(shape);
  SDFAST_CHECK(size_t(n) <= std::numeric_limits<size_t>::max() / 64 / dtype_size(dtype),
               "tensor of shape ", shape_str(shape), " is too large");
  size_t bytes = size_t(n) * dtype_size(dtype);
  size_t capacity = 0;
  void* p = buffer_pool::allocate(bytes, &capacity);
  if (!p) fail("out of memory allocating ", bytes, " bytes for a tensor of shape ", shape_str(shape));
  t.storage_ = std::shared_ptr<void>(p, [capacity](void* q) { buffer_pool::release(q, capacity); });
  t.data_ = p;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(std::move(shape), DType::F32);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = value;
  return t;
}

Tensor Tensor::from_vector(Shape shape, const std::vector<float>& values) {
  Tensor t = empty(std::move(shape), DType::F32);
  SDFAST_CHECK(int64_t(values.size()) == t.numel(), "from_vector: ", values.size(),
               " values for shape ", shape_str(t.shape_));
  std::memcpy(t.data_, values.data(), t.nbytes());
  return t;
}

Tensor Tensor::view(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner) {
  Tensor t;
  t.storage_ = std::move(owner);
  t.data_ = data;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  SDFAST_CHECK(j >= 0 && j < n, "dimension ", i, " out of range for ", describe());
  return shape_[size_t(j)];
}

Tensor Tensor::reshape(Shape shape) const {
  SDFAST_CHECK(shape_numel(shape) == numel(), "cannot reshape ", describe(), " to ",
               shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  SDFAST_CHECK(ndim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0], "slice0(", begin,
               ", ", end, ") out of range for ", describe());
  Tensor t = *this;
  const int64_t row = shape_[0] ? numel() / shape_[0] : 0;
  t.data_ = static_cast<char*>(data_) + size_t(begin * row) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t = empty(shape_, dtype);
  const int64_t n = numel();
  const size_t in_size = dtype_size(dtype_), out_size = dtype_size(dtype);
  constexpr int64_t kChunk = 1 << 16;  // converted through a float buffer this size, in parallel
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
    const void* src = static_cast<const char*>(data_) + size_t(begin) * in_size;
    void* dst = static_cast<char*>(t.data_) + size_t(begin) * out_size;
    if (dtype == DType::F32) {
      convert_to_f32(src, dtype_, static_cast<float*>(dst), size_t(len));
    } else if (dtype_ == DType::F32) {
      convert_from_f32(static_cast<const float*>(src), dst, dtype, size_t(len));
    } else {
      std::vector<float> tmp(static_cast<size_t>(len));
      convert_to_f32(src, dtype_, tmp.data(), tmp.size());
      convert_from_f32(tmp.data(), dst, dtype, tmp.size());
    }
  }
  return t;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  convert_to_f32(data_, dtype_, v.data(), v.size());
  return v;
}

std::string Tensor::describe() const { return std::string(dtype_name(dtype_)) + shape_str(shape_); }

void Tensor::check_dtype(DType want) const {
  SDFAST_CHECK(want == dtype_, "tensor ", describe(), " accessed as ", dtype_name(want));
}

}  // namespace sdfast
