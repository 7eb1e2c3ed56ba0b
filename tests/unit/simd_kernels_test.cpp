// The vector kernels of every variant this CPU runs, against libm and scalar references: the math
// (exp, sigmoid, GELU, tanh), bf16 rounding, tails of every length, normalisation pieces, and the
// variant choice (SDFAST_ISA parsing and capping).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "simd/dispatch.h"

namespace sdfast::simd {
namespace {

class SimdKernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  const Kernels& k() const { return kernels_for(GetParam()); }
  // Worst error of op over n points in [lo, hi], relative to max(|want|, floor).
  template <class Ref>
  double max_error(Unary op, float p, Ref ref, float lo, float hi, int n, double floor) const {
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) x[size_t(i)] = lo + (hi - lo) * float(i) / float(n);
    k().unary(op, p, x.data(), Elem::F32, y.data(), Elem::F32, n);
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      const double want = ref(double(x[size_t(i)]));
      worst = std::max(worst, std::fabs(y[size_t(i)] - want) / std::max(std::fabs(want), floor));
    }
    return worst;
  }
};

TEST_P(SimdKernelsTest, ExpIsAccurateAndSaturates) {
  EXPECT_LT(max_error(Unary::Exp, 0, [](double x) { return std::exp(x); }, -87, 88, 200000, 1e-30), 3e-7);
  const float x[3] = {-200.0f, -std::numeric_limits<float>::infinity(), 0.0f};
  float y[3];
  k().unary(Unary::Exp, 0, x, Elem::F32, y, Elem::F32, 3);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
}

TEST_P(SimdKernelsTest, ActivationsAreAccurate) {
  EXPECT_LT(max_error(Unary::Silu, 0, [](double x) { return x / (1 + std::exp(-x)); }, -30, 30, 100000, 1e-6), 2e-6);
  // GELU and tanh: absolute error relative to max(|y|, 1) (their small outputs need no more).
  EXPECT_LT(max_error(Unary::Gelu, 0, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
                      -10, 10, 100000, 1.0), 1.5e-6);
  EXPECT_LT(max_error(Unary::TanhClamp, 3.0f, [](double x) { return std::tanh(x / 3) * 3; }, -60, 60, 100000, 1.0),
            1e-6);
  EXPECT_LT(max_error(Unary::QuickGelu, 0, [](double x) { return x / (1 + std::exp(-1.702 * x)); }, -20, 20, 10000, 1.0),
            2e-6);
  EXPECT_EQ(max_error(Unary::Relu, 0, [](double x) { return x > 0 ? x : 0; }, -5, 5, 1000, 1.0), 0.0);
}

// Every length 0..70 (full vectors and tails of every size): conversions round as the scalar
// f32_to_bf16 does, and nothing outside [0, n) is written.
TEST_P(SimdKernelsTest, Bf16ConversionsRoundToNearestEvenAtEveryLength) {
  for (int n = 0; n <= 70; ++n) {
    std::vector<float> x(size_t(n) + 1);
    for (int i = 0; i < n; ++i) x[size_t(i)] = std::ldexp(1.0f + float(i) * 0.00390625f + 0.001953125f, i % 7 - 3) * (i % 2 ? -1 : 1);
    if (n > 3) x[3] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint16_t> b(size_t(n) + 1, 0xabcd);
    k().unary(Unary::Copy, 0, x.data(), Elem::F32, b.data(), Elem::BF16, n);
    for (int i = 0; i < n; ++i) {
      if (i == 3) {
        EXPECT_TRUE(std::isnan(bf16_to_f32(b[3])));
        continue;
      }
      ASSERT_EQ(b[size_t(i)], f32_to_bf16(x[size_t(i)])) << "n " << n << " i " << i;
    }
    EXPECT_EQ(b[size_t(n)], 0xabcd) << "wrote past the end at n " << n;
    std::vector<float> back(size_t(n) + 1, 7.0f);
    k().unary(Unary::Copy, 0, b.data(), Elem::BF16, back.data(), Elem::F32, n);
    for (int i = 0; i < n; ++i)
      if (i != 3) ASSERT_EQ(back[size_t(i)], bf16_to_f32(b[size_t(i)]));
    EXPECT_EQ(back[size_t(n)], 7.0f);
  }
}

TEST_P(SimdKernelsTest, BinaryOpsAndNormPiecesMatchScalar) {
  for (int c : {1, 7, 16, 33, 320}) {
    const size_t cs = static_cast<size_t>(c);
    std::vector<float> a(cs), b(cs), y(cs), sc(cs), sh(cs);
    for (int i = 0; i < c; ++i) {
      a[size_t(i)] = std::sin(float(i)) * 3;
      b[size_t(i)] = std::cos(float(i) * 0.7f) * 2;
      sc[size_t(i)] = 0.5f + float(i % 5) * 0.1f;
      sh[size_t(i)] = float(i % 3) - 1;
    }
    k().binary(Binary::AddScaled, 0.5f, a.data(), Elem::F32, b.data(), Elem::F32, y.data(), Elem::F32, c);
    for (int i = 0; i < c; ++i) EXPECT_FLOAT_EQ(y[size_t(i)], (a[size_t(i)] + b[size_t(i)]) * 0.5f);
    k().binary(Binary::GeluGate, 0, a.data(), Elem::F32, b.data(), Elem::F32, y.data(), Elem::F32, c);
    for (int i = 0; i < c; ++i) {
      const double g = 0.5 * b[size_t(i)] * (1 + std::erf(b[size_t(i)] / std::sqrt(2.0)));
      EXPECT_NEAR(y[size_t(i)], a[size_t(i)] * g, 1e-5);
    }
    k().scale_shift(a.data(), Elem::F32, y.data(), Elem::F32, c, sc.data(), sh.data(), true);
    for (int i = 0; i < c; ++i) {
      const double v = double(a[size_t(i)]) * sc[size_t(i)] + sh[size_t(i)];
      EXPECT_NEAR(y[size_t(i)], v / (1 + std::exp(-v)), 2e-6 * std::max(1.0, std::fabs(v)));
    }
    std::vector<float> f1(cs, 0.0f), f2(cs, 0.0f);
    std::vector<float> rows(3 * cs);
    for (int i = 0; i < 3 * c; ++i) rows[size_t(i)] = std::sin(float(i) * 1.3f);
    k().channel_moments(rows.data(), Elem::F32, c, 3, sh.data(), f1.data(), f2.data());
    for (int i = 0; i < c; ++i) {
      double s1 = 0, s2 = 0;
      for (int r = 0; r < 3; ++r) {
        const double dv = double(rows[size_t(r * c + i)]) - sh[size_t(i)];
        s1 += dv;
        s2 += dv * dv;
      }
      EXPECT_NEAR(f1[size_t(i)], s1, 1e-5);
      EXPECT_NEAR(f2[size_t(i)], s2, 1e-5);
    }
    double m1 = 0, m2 = 0;
    k().row_moments(rows.data(), Elem::F32, c, 0.25f, &m1, &m2);
    double w1 = 0, w2 = 0;
    for (int i = 0; i < c; ++i) {
      w1 += double(rows[size_t(i)]) - 0.25;
      w2 += (double(rows[size_t(i)]) - 0.25) * (double(rows[size_t(i)]) - 0.25);
    }
    EXPECT_NEAR(m1, w1, 1e-4);
    EXPECT_NEAR(m2, w2, 1e-4);
  }
}

TEST_P(SimdKernelsTest, TableMatchesVariant) {
  EXPECT_NE(k().flash_f32, nullptr);
  EXPECT_EQ(k().flash_bf16 != nullptr, native_bf16(GetParam())) << k().target;
}

INSTANTIATE_TEST_SUITE_P(Variants, SimdKernelsTest, ::testing::ValuesIn(variants_up_to(dispatch().best)),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(DispatchTest, RequestsAreParsedAndCappedAtTheCpu) {
  CpuFeatures avx2_only;
  avx2_only.avx2 = avx2_only.fma = avx2_only.f16c = avx2_only.os_avx = true;
  const Isa best_here = dispatch().best;
  // Only as far as this CPU really goes: Highway's own check caps the fake features too.
  const Dispatch d = make_dispatch(avx2_only, "amx");
  EXPECT_LE(d.best, Isa::Avx2);
  EXPECT_EQ(d.chosen, d.best);
  EXPECT_NE(d.note.find("capped at"), std::string::npos) << d.note;
  EXPECT_EQ(make_dispatch(avx2_only, "generic").chosen, Isa::Generic);
  EXPECT_EQ(make_dispatch(detect_cpu(), "").chosen, best_here);
  try {
    make_dispatch(avx2_only, "avx1024");
    FAIL() << "no error for an unknown variant";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("generic|avx2|avx512|avx512_bf16|amx"), std::string::npos) << e.what();
  }
  for (Isa isa : variants_up_to(Isa::Amx)) EXPECT_EQ(isa_from_name(isa_name(isa)), isa);
}

}  // namespace
}  // namespace sdfast::simd
