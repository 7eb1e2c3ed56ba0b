#include "pipeline/batch.h"

#include <algorithm>

#include "core/error.h"

namespace sdfast {

Tensor repeat_rows(const Tensor& t, int64_t times) {
  const int64_t rows = t.dim(0), row = t.numel() / rows;
  Shape shape = t.shape();
  shape[0] = rows * times;
  Tensor out = Tensor::empty(shape, DType::F32);
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < times; ++k) std::copy(src + r * row, src + (r + 1) * row, dst + (r * times + k) * row);
  return out;
}

Tensor cat0(const std::vector<Tensor>& parts) {
  Shape shape = parts.at(0).shape();
  shape[0] = 0;
  for (const Tensor& p : parts) shape[0] += p.dim(0);
  Tensor out = Tensor::empty(shape, DType::F32);
  float* dst = out.data<float>();
  for (const Tensor& p : parts) {
    const Tensor f = p.to(DType::F32);
    std::copy(f.data<float>(), f.data<float>() + f.numel(), dst);
    dst += f.numel();
  }
  return out;
}

Tensor cat_channels(const std::vector<Tensor>& parts) {
  const Tensor& first = parts.at(0);
  SDFAST_CHECK(first.ndim() == 4, "cat_channels: expected NCHW tensors, got ", first.describe());
  const int64_t n = first.dim(0), plane = first.dim(2) * first.dim(3);
  int64_t channels = 0;
  for (const Tensor& p : parts) {
    SDFAST_CHECK(p.ndim() == 4 && p.dim(0) == n && p.dim(2) == first.dim(2) && p.dim(3) == first.dim(3) &&
                     p.dtype() == DType::F32,
                 "cat_channels: ", p.describe(), " does not fit ", first.describe());
    channels += p.dim(1);
  }
  Tensor out = Tensor::empty({n, channels, first.dim(2), first.dim(3)}, DType::F32);
  float* dst = out.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (const Tensor& p : parts) {
      const int64_t block = p.dim(1) * plane;
      const float* src = p.data<float>() + b * block;
      dst = std::copy(src, src + block, dst);
    }
  return out;
}

}  // namespace sdfast
