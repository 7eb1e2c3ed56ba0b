// Tensor: a contiguous, row-major n-d array with shared storage. Knows no model.
//
// Layout convention of the engine: image-like activations are NHWC ([N, H, W, C]) end to end,
// token sequences are [N, L, C]. Model boundaries (what Diffusers calls `sample`, `latents`,
// `image`) are NCHW, as in Diffusers; models convert once on entry and exit.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace sdfast {

using Shape = std::vector<int64_t>;

// Storage types for the 16-bit floats, so that data<T>() is type-checked.
struct bf16_t {
  uint16_t bits;
};
struct f16_t {
  uint16_t bits;
};

template <class T>
struct dtype_of;
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<f16_t> { static constexpr DType value = DType::F16; };
template <> struct dtype_of<bf16_t> { static constexpr DType value = DType::BF16; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::U8; };

int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised memory, 64-byte aligned.
  static Tensor empty(Shape shape, DType dtype = DType::F32);
  static Tensor zeros(Shape shape, DType dtype = DType::F32);
  static Tensor full(Shape shape, float value);
  static Tensor from_vector(Shape shape, const std::vector<float>& values);
  // A view on memory owned by `owner` (e.g. a mapped file); nothing is copied.
  static Tensor view(void* data, Shape shape, DType dtype, std::shared_ptr<void> owner);

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return int(shape_.size()); }
  // dim(-1) is the last dimension.
  int64_t dim(int i) const;
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  template <class T>
  T* data() {
    check_dtype(dtype_of<T>::value);
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    check_dtype(dtype_of<T>::value);
    return static_cast<const T*>(data_);
  }
  template <class T>
  std::span<T> span() {
    return {data<T>(), size_t(numel())};
  }
  template <class T>
  std::span<const T> span() const {
    return {data<T>(), size_t(numel())};
  }

  // Same storage, new shape with the same number of elements.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of dimension 0, sharing storage.
  Tensor slice0(int64_t begin, int64_t end) const;
  // A deep copy.
  Tensor clone() const;
  // A converted copy (or *this when the dtype already matches).
  Tensor to(DType dtype) const;
  // Contents as float32 values (converted).
  std::vector<float> to_vector() const;

  std::string describe() const;  // "F32[1, 4, 64, 64]"

 private:
  void check_dtype(DType want) const;

  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
};

}  // namespace sdfast
