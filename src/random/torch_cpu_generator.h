// torch.manual_seed(seed); torch.randn(shape) on the CPU (float32), bit-exact with torch 1.13.
//
// References (pytorch): aten/src/ATen/CPUGeneratorImpl.cpp (mt19937 engine seeded with the
// seed's low 32 bits, random() / random64(), the cached second Box-Muller sample),
// aten/src/ATen/core/MT19937RNGEngine.h, aten/src/ATen/core/DistributionsHelper.h and
// TransformationHelper.h (uniform_real_distribution, normal_distribution<double>),
// aten/src/ATen/native/cpu/DistributionTemplates.h (normal_kernel: tensors of >= 16 elements go
// through normal_fill with the AVX2 kernel normal_fill_16_AVX2, smaller ones through the scalar
// normal_distribution<double>).
//
// Scope: this is torch on x86-64 CPUs with AVX2 (its normal kernel is not dispatched to AVX-512),
// as built for Linux with GCC. torch on CPUs without AVX2, on ARM, or built with MSVC fills >= 16
// elements with libm's log/sin/cos instead, which differs in the last bits; that variant is not
// reproduced. The < 16 elements path is the same everywhere (libm, double).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "random/generator.h"

namespace sdfast {

class TorchCpuGenerator : public Generator {
 public:
  explicit TorchCpuGenerator(uint64_t seed);

  // torch.randn(shape, generator=g) as float32.
  Tensor randn(const Shape& shape) override;
  std::string describe() const override;

  // CPUGeneratorImpl::random(): one mt19937 output.
  uint32_t random() { return uint32_t(engine_()); }
  // CPUGeneratorImpl::random64(): two outputs, the first one in the high half.
  uint64_t random64() {
    const uint64_t hi = random();
    return hi << 32 | random();
  }

 private:
  // normal_distribution<double>(0, 1) for one element (the < 16 elements path).
  double normal_scalar();
  // normal_fill for a contiguous float tensor of n >= 16 elements.
  void normal_fill(float* data, int64_t n);

  uint64_t seed_;
  // at::mt19937 produces the standard MT19937 sequence, seeded with the seed's low 32 bits.
  std::mt19937 engine_;
  // The second Box-Muller sample of the scalar path, kept for the next scalar draw.
  std::optional<double> next_double_normal_;
};

}  // namespace sdfast
