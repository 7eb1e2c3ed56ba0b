#include "random/numpy_pcg64_generator.h"

#include <cmath>

#include "core/error.h"
#include "random/numpy_ziggurat_tables.h"

// Bit-exact reproduction: every a*b+c below must round twice, as in numpy's build (no FMA).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace sdfast {

NumpyPcg64Generator::NumpyPcg64Generator(uint64_t seed)
    : seed_(seed), bitgen_(SeedSequence(seed)) {}

NumpyPcg64Generator::NumpyPcg64Generator(const GeneratorState& s)
    : bitgen_(Pcg64::from_state(Pcg64::uint128(s.state_high) << 64 | s.state_low,
                                Pcg64::uint128(s.inc_high) << 64 | s.inc_low)),
      has_uint32_(s.has_uint32),
      uinteger_(s.uinteger) {}

GeneratorState NumpyPcg64Generator::state() const {
  GeneratorState s;
  s.state_high = uint64_t(bitgen_.state() >> 64);
  s.state_low = uint64_t(bitgen_.state());
  s.inc_high = uint64_t(bitgen_.increment() >> 64);
  s.inc_low = uint64_t(bitgen_.increment());
  s.has_uint32 = has_uint32_;
  s.uinteger = uinteger_;
  return s;
}

double NumpyPcg64Generator::standard_normal() {
  using namespace numpy_ziggurat;
  for (;;) {
    // r = [52 bits magnitude][1 bit sign][8 bits layer index]
    uint64_t r = bitgen_.next_uint64();
    const int idx = int(r & 0xff);
    r >>= 8;
    const bool negative = r & 0x1;
    const uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
    double x = double(rabs) * kWi[idx];
    if (negative) x = -x;
    if (rabs < kKi[idx]) return x;  // inside the layer's rectangle: ~99.3% of draws
    if (idx == 0) {
      // The tail beyond kNorR (Marsaglia's method), with 1 - U so that log never sees 0.
      for (;;) {
        const double xx = -kNorInvR * std::log1p(-bitgen_.next_double());
        const double yy = -std::log1p(-bitgen_.next_double());
        if (yy + yy > xx * xx) return ((rabs >> 8) & 0x1) ? -(kNorR + xx) : kNorR + xx;
      }
    }
    // The wedge between the rectangle and the density.
    const double u = bitgen_.next_double();
    if ((kFi[idx - 1] - kFi[idx]) * u + kFi[idx] < std::exp(-0.5 * x * x)) return x;
  }
}

Tensor NumpyPcg64Generator::randn_f64(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) fail_argument("randn: negative dimension in shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, DType::F64);
  for (double& v : t.span<double>()) v = standard_normal();
  return t;
}

Tensor NumpyPcg64Generator::randn(const Shape& shape) {
  const Tensor f64 = randn_f64(shape);
  Tensor t = Tensor::empty(shape, DType::F32);
  const double* src = f64.data<double>();
  float* dst = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = static_cast<float>(src[i]);
  return t;
}

std::string NumpyPcg64Generator::describe() const {
  if (!seed_) return "numpy Generator(PCG64) from a given state, standard_normal";
  return str_cat("numpy Generator(PCG64(", *seed_, ")).standard_normal");
}

}  // namespace sdfast
