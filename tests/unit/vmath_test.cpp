// The vector math the kernels use, against libm over the ranges that matter.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/vmath.h"

namespace sdfast::ops {
namespace {

#if defined(__AVX512F__)
template <class F, class G>
double max_rel_error(F vec, G ref, float lo, float hi, int n, double floor) {
  double worst = 0;
  for (int i = 0; i < n; i += 16) {
    alignas(64) float x[16], y[16];
    for (int k = 0; k < 16; ++k) x[k] = lo + (hi - lo) * float(i + k) / float(n);
    _mm512_store_ps(y, vec(_mm512_load_ps(x)));
    for (int k = 0; k < 16; ++k) {
      const double want = ref(double(x[k]));
      worst = std::max(worst, std::fabs(y[k] - want) / std::max(std::fabs(want), floor));
    }
  }
  return worst;
}

TEST(VectorMath, ExpIsAccurate) {
  EXPECT_LT(max_rel_error([](__m512 v) { return vm::exp(v); }, [](double x) { return std::exp(x); }, -87, 88, 200000, 1e-30), 3e-7);
  alignas(64) float big[16];
  _mm512_store_ps(big, vm::exp(_mm512_set1_ps(-200.0f)));
  EXPECT_EQ(big[0], 0.0f);
  _mm512_store_ps(big, vm::exp(_mm512_set1_ps(-INFINITY)));
  EXPECT_EQ(big[0], 0.0f);
}

TEST(VectorMath, SigmoidGeluTanhAreAccurate) {
  EXPECT_LT(max_rel_error([](__m512 v) { return vm::sigmoid(v); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -30, 30, 100000, 1e-6), 1e-6);
  // GELU and tanh: absolute error relative to max(|y|, 1) (their small outputs need no more).
  EXPECT_LT(max_rel_error([](__m512 v) { return vm::gelu(v); },
                          [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -10, 10, 100000, 1.0), 1.5e-6);
  EXPECT_LT(max_rel_error([](__m512 v) { return vm::tanh(v); }, [](double x) { return std::tanh(x); }, -20, 20, 100000, 1.0), 2e-7);
}
#endif

TEST(VectorMath, ScalarFormsMatchLibm) {
  EXPECT_FLOAT_EQ(vm::gelu(1.0f), float(0.5 * (1 + std::erf(1 / std::sqrt(2.0)))));
  EXPECT_FLOAT_EQ(vm::sigmoid(0.0f), 0.5f);
}

}  // namespace
}  // namespace sdfast::ops
