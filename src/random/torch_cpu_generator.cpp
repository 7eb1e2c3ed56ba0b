#include "random/torch_cpu_generator.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "random/torch_avx_mathfun.h"

// Bit-exact reproduction: no compiler-made FMA (torch's own fused steps are spelled out).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace sdfast {

namespace {

// uniform_real_distribution<float>(0, 1) from one 32-bit draw: 24 random bits.
float uniform_float(uint32_t v) { return float(v & ((1u << 24) - 1)) * (1.0f / float(1u << 24)); }

// uniform_real_distribution<double>(0, 1) from one 64-bit draw: 53 random bits.
double uniform_double(uint64_t v) {
  return double(v & ((uint64_t(1) << 53) - 1)) * (1.0 / double(uint64_t(1) << 53));
}

// normal_fill_16_AVX2 on data[0..16): Box-Muller of the pairs (data[j], data[j + 8]).
void normal_fill_16(float* data) {
  const float two_pi = static_cast<float>(2.0f * std::numbers::pi);
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - data[j];  // [0, 1) -> (0, 1] for the log
    const float u2 = data[j + 8];
    const float radius = std::sqrt(-2.0f * torch_avx::log(u1));
    const float theta = two_pi * u2;
    float s, c;
    torch_avx::sincos(theta, &s, &c);
    // _mm256_fmadd_ps(n, std = 1, mean = 0): the same value, but -0 becomes +0.
    data[j] = std::fma(radius * c, 1.0f, 0.0f);
    data[j + 8] = std::fma(radius * s, 1.0f, 0.0f);
  }
}

}  // namespace

TorchCpuGenerator::TorchCpuGenerator(uint64_t seed)
    : seed_(seed), engine_(static_cast<uint32_t>(seed & 0xffffffffu)) {}

double TorchCpuGenerator::normal_scalar() {
  if (next_double_normal_) {
    const double v = *next_double_normal_;
    next_double_normal_.reset();
    return v;
  }
  const double u1 = uniform_double(random64());
  const double u2 = uniform_double(random64());
  const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  const double theta = 2.0 * std::numbers::pi * u1;
  next_double_normal_ = r * std::sin(theta);
  return r * std::cos(theta);
}

void TorchCpuGenerator::normal_fill(float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i) data[i] = uniform_float(random());
  for (int64_t i = 0; i + 16 <= n; i += 16) normal_fill_16(data + i);
  if (n % 16 != 0) {
    // The tail: redraw the last 16 uniforms (overlapping finished values) and redo them.
    float* tail = data + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniform_float(random());
    normal_fill_16(tail);
  }
}

Tensor TorchCpuGenerator::randn(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) fail_argument("randn: negative dimension in shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, DType::F32);
  float* data = t.data<float>();
  const int64_t n = t.numel();
  if (n >= 16) {
    normal_fill(data, n);
  } else {
    // transformation::normal(v, mean = 0, std = 1) = v * 1 + 0 (which turns -0 into +0).
    for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>(normal_scalar() * 1.0 + 0.0);
  }
  return t;
}

std::string TorchCpuGenerator::describe() const {
  return str_cat("torch CPU generator manual_seed(", seed_, ") randn");
}

}  // namespace sdfast
