// Random generators: bit-exact against the golden data (bit patterns, so -0 and NaN count too),
// and invariants of the numpy / torch streams that hold whatever the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tensor.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "random/generator.h"
#include "random/numpy_pcg64_generator.h"
#include "random/seed_sequence.h"
#include "random/torch_avx_mathfun.h"
#include "random/torch_cpu_generator.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.span<float>().begin(), t.span<float>().end());
}

std::vector<float> slice(const std::vector<float>& v, size_t b, size_t e) {
  return std::vector<float>(v.begin() + std::ptrdiff_t(b), v.begin() + std::ptrdiff_t(e));
}

std::vector<float> concat(std::vector<float> a, const std::vector<float>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Bitwise equality (EXPECT_EQ on floats would accept -0 == +0).
::testing::AssertionResult same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

// Every rng golden case, compared bit for bit.
TEST(RandomGolden, AllCasesBitExact) {
  const fs::path cases = fs::path(SDFAST_TEST_DATA) / "golden" / "cases";
  int numpy = 0, torch = 0;
  for (const auto& entry : fs::directory_iterator(cases)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rng-", 0) != 0) continue;
    const nlohmann::json c = read_json_file((entry.path() / "case.json").string());
    const uint64_t seed = c["params"]["seed"].get<uint64_t>();
    const Shape shape = c["params"]["shape"].get<Shape>();
    auto data = SafetensorsFile::open((entry.path() / "data.safetensors").string());
    const std::string kind = c["kind"].get<std::string>();
    if (kind == "rng_numpy_pcg64_standard_normal") {
      const Tensor want = data->load("expected", DType::F64);
      NumpyPcg64Generator gen(seed);
      const Tensor got = gen.randn_f64(shape);
      ASSERT_EQ(got.shape(), want.shape()) << name;
      EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), got.nbytes()), 0) << name;
      ++numpy;
    } else {
      ASSERT_EQ(kind, "rng_torch_cpu_randn");
      const Tensor want = data->load("expected", DType::F32);
      TorchCpuGenerator gen(seed);
      const Tensor got = gen.randn(shape);
      ASSERT_EQ(got.shape(), want.shape()) << name;
      EXPECT_TRUE(same_bits(values(got), values(want))) << name;
      ++torch;
    }
  }
  EXPECT_EQ(numpy, 12);
  EXPECT_EQ(torch, 12);
}

TEST(NumpyPcg64, ConsecutiveDrawsContinueTheStream) {
  NumpyPcg64Generator one(42), parts(42);
  const Tensor all = one.randn_f64({1000});
  const Tensor a = parts.randn_f64({1, 3, 7});  // 21
  const Tensor b = parts.randn_f64({979});
  EXPECT_EQ(std::memcmp(all.data<double>(), a.data<double>(), 21 * sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(all.data<double>() + 21, b.data<double>(), 979 * sizeof(double)), 0);
}

TEST(NumpyPcg64, Float32IsTheRoundedFloat64Draw) {
  NumpyPcg64Generator g64(7), g32(7);
  const Tensor d = g64.randn_f64({2, 4, 8, 8});
  const Tensor f = g32.randn({2, 4, 8, 8});
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.shape(), (Shape{2, 4, 8, 8}));
  for (int64_t i = 0; i < f.numel(); ++i) ASSERT_EQ(f.data<float>()[i], float(d.data<double>()[i]));
}

TEST(NumpyPcg64, SeedsUseAllTheirBits) {
  // SeedSequence hashes every 32-bit word: 2^32 + 7 is not 7, and the extremes work.
  auto first = [](uint64_t seed) { return NumpyPcg64Generator(seed).standard_normal(); };
  EXPECT_NE(first(4294967303ull), first(7));
  EXPECT_NE(first(0), first(1));
  EXPECT_NE(first(std::numeric_limits<uint64_t>::max()), first(0));
  EXPECT_EQ(first(std::numeric_limits<uint64_t>::max()),
            first(std::numeric_limits<uint64_t>::max()));
  EXPECT_TRUE(std::isfinite(first(0)));
}

TEST(NumpyPcg64, SeedSequenceSplitsIntegersIntoLittleEndianWords) {
  EXPECT_EQ(SeedSequence(0).pool(), SeedSequence(std::vector<uint32_t>{0}).pool());
  EXPECT_EQ(SeedSequence(4294967303ull).pool(), SeedSequence(std::vector<uint32_t>{7, 1}).pool());
  EXPECT_NE(SeedSequence(4294967303ull).pool(), SeedSequence(std::vector<uint32_t>{1, 7}).pool());
  // Entropy longer than the pool is mixed in too.
  EXPECT_NE(SeedSequence(std::vector<uint32_t>{1, 2, 3, 4, 5}).pool(),
            SeedSequence(std::vector<uint32_t>{1, 2, 3, 4, 6}).pool());
  const SeedSequence s(12345);
  const std::vector<uint32_t> w = s.generate_state32(8);
  const std::vector<uint64_t> d = s.generate_state64(4);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(d[i], uint64_t(w[2 * i]) | uint64_t(w[2 * i + 1]) << 32);
}

TEST(NumpyPcg64, LooksStandardNormal) {
  NumpyPcg64Generator g(3);
  const Tensor t = g.randn_f64({200000});
  double sum = 0, sq = 0, tail = 0;
  for (double v : t.span<double>()) {
    sum += v;
    sq += v * v;
    tail += std::fabs(v) > 3.6541528853610088;  // drawn from the ziggurat's tail branch
  }
  const double n = double(t.numel());
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
  EXPECT_NEAR(tail / n, 2.58e-4, 1.2e-4);  // P(|x| > r) of a standard normal
}

TEST(TorchCpu, SeedUsesTheLow32Bits) {
  // at::mt19937 is seeded with seed & 0xffffffff (the golden case of seed 2^32 + 7 confirms it).
  TorchCpuGenerator a(4294967303ull), b(7);
  EXPECT_TRUE(same_bits(values(a.randn({40})), values(b.randn({40}))));
}

TEST(TorchCpu, Mt19937IsTheStandardSequence) {
  // The 10000th output of a default-seeded MT19937 is fixed by the C++ standard; torch's default
  // seed is 5489 as well.
  TorchCpuGenerator g(5489);
  uint32_t v = 0;
  for (int i = 0; i < 10000; ++i) v = g.random();
  EXPECT_EQ(v, 4123659995u);
}

TEST(TorchCpu, ScalarPathKeepsTheSecondBoxMullerSample) {
  // < 16 elements: one Box-Muller pair serves two consecutive elements, across calls too.
  TorchCpuGenerator a(0), b(0);
  const std::vector<float> two = values(a.randn({2}));
  const std::vector<float> first = values(b.randn({1}));
  const std::vector<float> second = values(b.randn({1}));
  EXPECT_TRUE(same_bits(two, concat(first, second)));
  EXPECT_TRUE(same_bits(values(a.randn({3, 5})), values(b.randn({15}))));
  EXPECT_NE(two[0], two[1]);
}

TEST(TorchCpu, VectorPathChunksOf16AreIndependent) {
  // >= 16 elements: uniforms first, then Box-Muller per 16; two draws of 16 = one draw of 32.
  TorchCpuGenerator a(1), b(1);
  const std::vector<float> first = values(b.randn({16}));
  const std::vector<float> second = values(b.randn({16}));
  EXPECT_TRUE(same_bits(values(a.randn({32})), concat(first, second)));
}

// The tail of numel % 16 != 0: the last 16 values are redrawn from fresh uniforms.
void expect_tail_recomputed(int64_t n) {
  SCOPED_TRACE("numel " + std::to_string(n));
  TorchCpuGenerator a(42), b(42);
  const std::vector<float> got = values(a.randn({n}));
  const int64_t full = n / 16 * 16;
  // Everything before the tail window comes from the first full chunks.
  const std::vector<float> head = values(b.randn({full}));
  EXPECT_TRUE(same_bits(slice(got, 0, size_t(n - 16)), slice(head, 0, size_t(n - 16))));
  // The window [n-16, n) is a fresh 16-draw after all n uniforms of the first pass.
  for (int64_t i = full; i < n; ++i) b.random();
  EXPECT_TRUE(same_bits(slice(got, size_t(n - 16), size_t(n)), values(b.randn({16}))));
}

TEST(TorchCpu, TailOfOddSizes) {
  for (int64_t n : {17, 31, 33, 47, 65}) expect_tail_recomputed(n);
}

TEST(TorchCpu, SixteenUsesNoTail) {
  TorchCpuGenerator a(5), b(5);
  a.randn({16});
  for (int i = 0; i < 16; ++i) b.random();
  EXPECT_TRUE(same_bits(values(a.randn({16})), values(b.randn({16}))));
}

TEST(TorchCpu, LooksStandardNormal) {
  for (int64_t n : {15, 65536}) {
    TorchCpuGenerator g(11);
    double sum = 0, sq = 0;
    int64_t count = 0;
    for (int rep = 0; rep < (n < 16 ? 4000 : 1); ++rep) {
      const Tensor t = g.randn({n});
      for (float v : t.span<float>()) {
        sum += v;
        sq += double(v) * v;
        ++count;
      }
    }
    EXPECT_NEAR(sum / double(count), 0.0, 0.02) << n;
    EXPECT_NEAR(sq / double(count), 1.0, 0.02) << n;
  }
}

TEST(TorchAvxMathfun, CloseToLibm) {
  // The cephes polynomials are accurate to a few ulp on the ranges normal_fill uses.
  for (int i = 1; i <= 1 << 16; ++i) {
    const float u = float(i) / float(1 << 16);  // (0, 1]
    EXPECT_NEAR(torch_avx::log(u), std::log(double(u)),
                4e-7 * std::max(1.0, std::fabs(std::log(double(u)))))
        << u;
    const float theta = 6.2831855f * float(i - 1) / float(1 << 16);  // [0, 2 pi)
    float s, c;
    torch_avx::sincos(theta, &s, &c);
    EXPECT_NEAR(s, std::sin(double(theta)), 3e-7) << theta;
    EXPECT_NEAR(c, std::cos(double(theta)), 3e-7) << theta;
  }
  EXPECT_TRUE(std::isnan(torch_avx::log(0.0f)));
  EXPECT_TRUE(std::isnan(torch_avx::log(-1.0f)));
}

TEST(Generator, FactoryAndErrors) {
  EXPECT_EQ(make_generator("numpy", 1)->describe(), "numpy Generator(PCG64(1)).standard_normal");
  EXPECT_NE(make_generator("torch", 1)->describe().find("torch"), std::string::npos);
  try {
    make_generator("cuda", 1);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'cuda'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("numpy, torch"), std::string::npos) << msg;
  }
  for (const char* name : {"numpy", "torch"}) {
    auto g = make_generator(name, 0);
    EXPECT_THROW(g->randn({2, -1}), InvalidArgument) << name;
    // Zero elements draw nothing: the stream is where a fresh generator's is.
    EXPECT_EQ(g->randn({0, 4}).numel(), 0);
    EXPECT_TRUE(same_bits(values(g->randn({20})), values(make_generator(name, 0)->randn({20}))))
        << name;
    const Tensor one = g->randn({1});
    EXPECT_EQ(one.shape(), Shape{1});
    EXPECT_TRUE(std::isfinite(one.data<float>()[0]));
  }
}

TEST(Generator, SameSeedSameStream) {
  for (const char* name : {"numpy", "torch"}) {
    auto a = make_generator(name, 1234), b = make_generator(name, 1234),
         c = make_generator(name, 1235);
    const std::vector<float> va = values(a->randn({3, 17}));
    EXPECT_TRUE(same_bits(va, values(b->randn({3, 17})))) << name;
    EXPECT_FALSE(same_bits(va, values(c->randn({3, 17})))) << name;
  }
}

// Generators started from numpy's bit_generator.state. The expected states and draws are numpy's
// (1.24), from np.random.Generator(np.random.PCG64(42)) and from a PCG64 whose .state was set to
// the arbitrary values below.
GeneratorState numpy_state(uint64_t sh, uint64_t sl, uint64_t ih, uint64_t il, bool has32 = false,
                           uint32_t u = 0) {
  GeneratorState s;
  s.state_high = sh, s.state_low = sl, s.inc_high = ih, s.inc_low = il, s.has_uint32 = has32,
  s.uinteger = u;
  return s;
}

TEST(NumpyGeneratorState, SeededStateIsNumpys) {
  const GeneratorState seed42 =
      numpy_state(0xcea44f6798798f2a, 0xacbc7c9d68860ac8, 0xfa505436c9a8416e, 0x66caf2e28d25abff);
  NumpyPcg64Generator g(42);
  EXPECT_EQ(g.state(), seed42);
  // standard_normal(1000) leaves numpy's generator here, and the next draws are these.
  g.randn_f64({1000});
  EXPECT_EQ(g.state(), numpy_state(0x7f9fc617379e98ae, 0x55d47d7a82353f31, 0xfa505436c9a8416e,
                                   0x66caf2e28d25abff));
  EXPECT_EQ(g.standard_normal(), -0.059282646025932216);
  EXPECT_EQ(g.standard_normal(), -0.7292869363736615);
  EXPECT_EQ(g.standard_normal(), -0.4144730658358585);
}

TEST(NumpyGeneratorState, RoundTripContinuesTheStream) {
  // Draw 37 values, hand the state over to a second generator: both continue identically, and
  // the hand-over is the identity on the state.
  NumpyPcg64Generator a(7);
  a.randn_f64({37});
  const GeneratorState mid = a.state();
  NumpyPcg64Generator b(mid);
  EXPECT_EQ(b.state(), mid);
  EXPECT_TRUE(same_bits(values(a.randn({3, 5, 7})), values(b.randn({3, 5, 7}))));
  EXPECT_EQ(a.state(), b.state());
  EXPECT_NE(a.state(), mid);
}

TEST(NumpyGeneratorState, ArbitraryStateDrawsAsNumpy) {
  // PCG64().state = {"state": {"state": 0x0123456789abcdeffedcba9876543210,
  //                            "inc": 0x11112222333344445555666677778889},
  //                  "has_uint32": 1, "uinteger": 0xdeadbeef}
  NumpyPcg64Generator g(numpy_state(0x0123456789abcdef, 0xfedcba9876543210, 0x1111222233334444,
                                    0x5555666677778889, true, 0xdeadbeef));
  EXPECT_EQ(g.standard_normal(), -0.3345853826778532);
  EXPECT_EQ(g.standard_normal(), -0.5444099994144275);
  EXPECT_EQ(g.standard_normal(), -0.12197173506462745);
  EXPECT_EQ(g.standard_normal(), 0.06817427989392245);
  g.randn_f64({10000 - 4});  // 10000 normals: past several ziggurat tail and wedge draws
  // The 32-bit buffer is numpy's and untouched by standard_normal.
  EXPECT_EQ(g.state(), numpy_state(0x16ac5e33c29a3cc1, 0xc2f5885e718015c5, 0x1111222233334444,
                                   0x5555666677778889, true, 0xdeadbeef));
  EXPECT_NE(g.describe().find("given state"), std::string::npos) << g.describe();
}

}  // namespace
}  // namespace sdfast
