// Every op against a naive reference written here, in float32 and bfloat16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/runtime.h"
#include "ops/attention.h"
#include "ops/conv2d.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace sdfast::ops {
namespace {

Tensor randn(Shape shape, uint64_t seed, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  Tensor t = Tensor::empty(std::move(shape));
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// A WeightSource serving given tensors by name.
class MapWeights : public WeightSource {
 public:
  void put(const std::string& name, Tensor t) { map_[name] = std::move(t); }
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override {
    auto it = map_.find(name);
    if (it == map_.end()) fail("no ", name);
    SDFAST_CHECK(it->second.shape() == shape, "shape of ", name);
    return it->second.to(dtype);
  }
  bool contains(const std::string& name) const override { return map_.count(name) != 0; }
  void check_all_used(bool (*)(const std::string&)) const override {}
  std::string describe() const override { return "map"; }

 private:
  std::map<std::string, Tensor> map_;
};

// max |a-b| / max |b|
double rel_err(const Tensor& got, const Tensor& want) {
  auto g = got.to_vector(), w = want.to_vector();
  EXPECT_EQ(g.size(), w.size());
  double m = 0, mw = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    m = std::max(m, double(std::fabs(g[i] - w[i])));
    mw = std::max(mw, double(std::fabs(w[i])));
  }
  return m / mw;
}

// Every op in both precisions on every kernel variant this CPU runs (bf16 is native bf16 on
// avx512_bf16 and above, bf16 storage with float32 products below).
class OpsTest : public ::testing::TestWithParam<std::tuple<DType, simd::Isa>> {
 protected:
  OpsTest() : rt_(options()) {}
  static RuntimeOptions options() {
    RuntimeOptions o;
    o.precision = std::get<0>(GetParam());
    o.isa = std::get<1>(GetParam());
    return o;
  }
  DType dtype() const { return std::get<0>(GetParam()); }
  double tol() const { return dtype() == DType::F32 ? 2e-6 : 1.5e-2; }
  Runtime rt_;
};

TEST_P(OpsTest, Conv2dMatchesDirectConvolution) {
  for (auto [k, stride, pad, extra] : {std::tuple{3, 1, 1, 0}, {3, 2, 1, 0}, {3, 2, 0, 1}, {1, 1, 0, 0}}) {
    const int64_t n = 2, cin = 5, cout = 7, h = 9, w = 6;
    MapWeights mw;
    mw.put("c.weight", randn({cout, cin, k, k}, 1, 0.3f));
    mw.put("c.bias", randn({cout}, 2));
    Conv2d conv(rt_, Weights{mw}["c"], {int(cin), int(cout), k, stride, pad, extra, true});
    Tensor x = randn({n, h, w, cin}, 3);
    Tensor res = randn({n, (h + 2 * pad + extra - k) / stride + 1, (w + 2 * pad + extra - k) / stride + 1, cout}, 4);
    Tensor y = conv.forward(rt_, x);
    Tensor y2 = conv.forward(rt_, x, res);
    const int64_t ho = y.dim(1), wo = y.dim(2);
    ASSERT_EQ(y.shape(), res.shape());
    Tensor want = Tensor::empty(y.shape()), want2 = Tensor::empty(y.shape());
    auto wt = mw.get("c.weight", {cout, cin, k, k}, DType::F32).to_vector();
    auto bt = mw.get("c.bias", {cout}, DType::F32).to_vector();
    auto xv = x.to_vector(), rv = res.to_vector();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox)
          for (int64_t o = 0; o < cout; ++o) {
            double acc = bt[size_t(o)];
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (int64_t i = 0; i < cin; ++i)
                  acc += double(xv[size_t(((b * h + iy) * w + ix) * cin + i)]) *
                         wt[size_t(((o * cin + i) * k + ky) * k + kx)];
              }
            const size_t at = size_t(((b * ho + oy) * wo + ox) * cout + o);
            want.data<float>()[at] = float(acc);
            want2.data<float>()[at] = float(acc) + rv[at];
          }
    EXPECT_LT(rel_err(y, want), tol()) << "k" << k << " s" << stride;
    EXPECT_LT(rel_err(y2, want2), tol());
  }
}

TEST_P(OpsTest, LinearMatchesMatrixProduct) {
  const int64_t m = 13, in = 24, out = 10;
  MapWeights mw;
  mw.put("l.weight", randn({out, in}, 5, 0.2f));
  mw.put("l.bias", randn({out}, 6));
  Linear lin(rt_, Weights{mw}["l"], in, out);
  Tensor x = randn({1, m, in}, 7);
  Tensor want = Tensor::empty({1, m, out});
  auto wv = mw.get("l.weight", {out, in}, DType::F32).to_vector();
  auto bv = mw.get("l.bias", {out}, DType::F32).to_vector();
  auto xv = x.to_vector();
  for (int64_t r = 0; r < m; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bv[size_t(o)];
      for (int64_t i = 0; i < in; ++i) acc += double(xv[size_t(r * in + i)]) * wv[size_t(o * in + i)];
      want.data<float>()[r * out + o] = float(acc);
    }
  EXPECT_LT(rel_err(lin.forward(rt_, x), want), tol());
  Tensor g = lin.forward(rt_, x, Activation::Gelu);
  Tensor want_g = gelu(rt_, want);
  EXPECT_LT(rel_err(g, want_g), tol());
  Tensor res = randn({1, m, out}, 8);
  EXPECT_LT(rel_err(lin.forward(rt_, x, res), add(rt_, want, res)), tol());
}

TEST_P(OpsTest, GroupNormMatchesDefinition) {
  const int64_t n = 2, h = 5, w = 3, c = 12, g = 4;
  MapWeights mw;
  mw.put("gn.weight", randn({c}, 9));
  mw.put("gn.bias", randn({c}, 10));
  GroupNorm gn(Weights{mw}["gn"], int(g), int(c), 1e-5f);
  Tensor x = randn({n, h, w, c}, 11, 3.0f);
  for (float& v : x.span<float>()) v += 5.0f;  // a large mean must not hurt precision
  auto xv = x.to_vector();
  auto gv = mw.get("gn.weight", {c}, DType::F32).to_vector();
  auto bv = mw.get("gn.bias", {c}, DType::F32).to_vector();
  Tensor want = Tensor::empty(x.shape()), want_silu = Tensor::empty(x.shape());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t gi = 0; gi < g; ++gi) {
      double s = 0, ss = 0, cnt = 0;
      for (int64_t p = 0; p < h * w; ++p)
        for (int64_t k = gi * (c / g); k < (gi + 1) * (c / g); ++k) s += xv[size_t((b * h * w + p) * c + k)], ++cnt;
      const double mean = s / cnt;
      for (int64_t p = 0; p < h * w; ++p)
        for (int64_t k = gi * (c / g); k < (gi + 1) * (c / g); ++k) {
          const double d = xv[size_t((b * h * w + p) * c + k)] - mean;
          ss += d * d;
        }
      const double rstd = 1.0 / std::sqrt(ss / cnt + 1e-5);
      for (int64_t p = 0; p < h * w; ++p)
        for (int64_t k = gi * (c / g); k < (gi + 1) * (c / g); ++k) {
          const size_t at = size_t((b * h * w + p) * c + k);
          const double v = (xv[at] - mean) * rstd * gv[size_t(k)] + bv[size_t(k)];
          want.data<float>()[at] = float(v);
          want_silu.data<float>()[at] = float(v / (1 + std::exp(-v)));
        }
    }
  EXPECT_LT(rel_err(gn.forward(rt_, x), want), tol() * 4);
  EXPECT_LT(rel_err(gn.forward(rt_, x, true), want_silu), tol() * 4);
}

TEST_P(OpsTest, LayerNormMatchesDefinition) {
  const int64_t rows = 7, d = 32;
  MapWeights mw;
  mw.put("ln.weight", randn({d}, 12));
  mw.put("ln.bias", randn({d}, 13));
  LayerNorm ln(Weights{mw}["ln"], d, 1e-5f);
  Tensor x = randn({1, rows, d}, 14, 2.0f);
  auto xv = x.to_vector();
  auto gv = mw.get("ln.weight", {d}, DType::F32).to_vector();
  auto bv = mw.get("ln.bias", {d}, DType::F32).to_vector();
  Tensor want = Tensor::empty(x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0, ss = 0;
    for (int64_t k = 0; k < d; ++k) s += xv[size_t(r * d + k)];
    const double mean = s / double(d);
    for (int64_t k = 0; k < d; ++k) ss += (xv[size_t(r * d + k)] - mean) * (xv[size_t(r * d + k)] - mean);
    const double rstd = 1.0 / std::sqrt(ss / double(d) + 1e-5);
    for (int64_t k = 0; k < d; ++k)
      want.data<float>()[r * d + k] = float((xv[size_t(r * d + k)] - mean) * rstd * gv[size_t(k)] + bv[size_t(k)]);
  }
  EXPECT_LT(rel_err(ln.forward(rt_, x), want), tol() * 4);
}

Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads, bool causal) {
  const int64_t b = q.dim(0), lq = q.dim(1), lk = k.dim(1), hd = q.dim(2), d = hd / heads;
  auto qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector();
  Tensor out = Tensor::zeros({b, lq, hd});
  float* o = out.data<float>();
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < lq; ++i) {
        std::vector<double> s(static_cast<size_t>(lk));
        double mx = -1e300;
        for (int64_t j = 0; j < lk; ++j) {
          double acc = 0;
          for (int64_t e = 0; e < d; ++e)
            acc += double(qv[size_t((bi * lq + i) * hd + h * d + e)]) * kv[size_t((bi * lk + j) * hd + h * d + e)];
          s[size_t(j)] = (causal && j > i) ? -1e300 : acc / std::sqrt(double(d));
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (int64_t e = 0; e < d; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < lk; ++j) acc += s[size_t(j)] / sum * vv[size_t((bi * lk + j) * hd + h * d + e)];
          o[(bi * lq + i) * hd + h * d + e] = float(acc);
        }
      }
  return out;
}

TEST_P(OpsTest, AttentionFlashAndNaiveMatchReference) {
  // Sizes that are not multiples of the kernel's tiles, self and cross attention, causal.
  for (auto [lq, lk, heads, d, causal] :
       {std::tuple{37, 37, 2, 8, false}, {150, 77, 3, 16, false}, {77, 77, 4, 8, true}, {5, 300, 1, 40, false}}) {
    Tensor q = randn({2, lq, heads * d}, 20), k = randn({2, lk, heads * d}, 21), v = randn({2, lk, heads * d}, 22);
    if (dtype() == DType::BF16) {
      q = q.to(DType::BF16), k = k.to(DType::BF16), v = v.to(DType::BF16);
    }
    Tensor want = reference_attention(q, k, v, int(heads), causal);
    EXPECT_LT(rel_err(attention_flash(rt_, q, k, v, int(heads), causal), want), tol() * 4)
        << lq << "x" << lk << " causal " << causal;
    EXPECT_LT(rel_err(attention_naive(rt_, q, k, v, int(heads), causal), want), tol() * 4)
        << lq << "x" << lk << " causal " << causal;
  }
}

TEST_P(OpsTest, ElementwiseAndLayout) {
  Tensor a = randn({2, 3, 4, 6}, 30), b = randn({2, 3, 4, 6}, 31), c = randn({6}, 32);
  auto av = a.to_vector(), bv = b.to_vector(), cv = c.to_vector();
  Tensor sum = add(rt_, a, b), bc = add(rt_, a, c), cat = concat_last(rt_, a, randn({2, 3, 4, 2}, 33));
  for (size_t i = 0; i < av.size(); ++i) {
    EXPECT_NEAR(sum.to_vector()[i], av[i] + bv[i], 0.05);
    EXPECT_NEAR(bc.to_vector()[i], av[i] + cv[i % 6], 0.05);
  }
  EXPECT_EQ(cat.shape(), (Shape{2, 3, 4, 8}));
  EXPECT_NEAR(cat.to_vector()[8 + 3], av[6 + 3], 0.02);
  Tensor gg = geglu(rt_, a, DType::F32);
  EXPECT_EQ(gg.shape(), (Shape{2, 3, 4, 3}));
  const double g0 = av[0] * 0.5 * av[3] * (1 + std::erf(av[3] / std::sqrt(2.0)));
  EXPECT_NEAR(gg.to_vector()[0], g0, 0.02);
  // NCHW <-> NHWC round trip and nearest upsampling (x2 and to an odd size).
  Tensor nchw = randn({2, 3, 5, 4}, 34);
  Tensor back = nhwc_to_nchw(nchw_to_nhwc(nchw, DType::F32));
  EXPECT_EQ(back.to_vector(), nchw.to_vector());
  Tensor up = upsample_nearest(rt_, a, 6, 8);
  EXPECT_NEAR(up.to_vector()[((1 * 6 + 5) * 8 + 7) * 6 + 2], av[((1 * 3 + 2) * 4 + 3) * 6 + 2], 0.02);
  Tensor up2 = upsample_nearest(rt_, a, 5, 7);  // src = floor(dst * in/out)
  EXPECT_NEAR(up2.to_vector()[((0 * 5 + 4) * 7 + 6) * 6 + 1], av[((0 * 3 + 2) * 4 + 3) * 6 + 1], 0.02);
}

INSTANTIATE_TEST_SUITE_P(DTypesAndVariants, OpsTest,
                         ::testing::Combine(::testing::Values(DType::F32, DType::BF16),
                                            ::testing::ValuesIn(simd::variants_up_to(simd::dispatch().best))),
                         [](const auto& info) {
                           return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                  simd::isa_name(std::get<1>(info.param));
                         });

// A primitive oneDNN cannot create (here a matmul whose inner dimensions disagree) fails with a
// message naming the operation, its shapes and dtypes, and the CPU's instruction set.
TEST(DnnlUtilTest, FailedPrimitiveNamesOperationShapesAndIsa) {
  Runtime rt;
  const dnnl::memory::desc a({4, 8}, dt::f32, tag::ab), b({16, 3}, dt::f32, tag::ab),
      c({4, 3}, dt::f32, tag::ab);
  try {
    make_primitive_desc("the matmul " + describe(a) + " x " + describe(b) + " -> " + describe(c), [&] {
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), rt.engine());
    });
    FAIL() << "a matmul with mismatched inner dimensions was created";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("oneDNN cannot run the matmul f32[4,8] x f32[16,3] -> f32[4,3]"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("oneDNN ISA " + onednn_cpu_isa()), std::string::npos) << msg;
    EXPECT_NE(onednn_cpu_isa().find("unknown"), 0u);
  }
}

}  // namespace
}  // namespace sdfast::ops
