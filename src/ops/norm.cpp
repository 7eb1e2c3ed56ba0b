// References: torch.nn.functional.group_norm / layer_norm (biased variance, eps inside the sqrt).
#include "ops/norm.h"

#include <cmath>
#include <vector>

#include <omp.h>

#include <algorithm>

#include "ops/elem.h"

namespace sdfast::ops {

GroupNorm::GroupNorm(const Weights& w, int groups, int channels, float eps, bool affine)
    : groups_(groups), channels_(channels), eps_(eps) {
  SDFAST_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm '", w.prefix(),
               "': ", channels, " channels cannot be split into ", groups, " groups");
  if (affine) {
    weight_ = w.get("weight", {channels}, DType::F32);
    bias_ = w.get("bias", {channels}, DType::F32);
  } else {
    weight_ = Tensor::full({channels}, 1.0f);
    bias_ = Tensor::zeros({channels});
  }
}


Tensor GroupNorm::forward(Runtime& rt, const Tensor& x, bool silu, std::optional<DType> out) const {
  SDFAST_CHECK(x.ndim() >= 2 && x.dim(-1) == channels_, "GroupNorm: input ", x.describe(),
               " does not have ", channels_, " channels last");
  const int64_t n = x.dim(0), c = channels_, g = groups_, cg = c / g;
  const int64_t positions = x.numel() / (n * c);
  Tensor y = Tensor::empty(x.shape(), out.value_or(rt.activation()));
  const float* gamma = weight_.data<float>();
  const float* beta = bias_.data<float>();
  const int threads = rt.threads();
  const auto& kern = rt.kernels();
  const simd::Elem tx = elem_of(x.dtype()), ty = elem_of(y.dtype());
  // Rows of each sample are split among the threads; each sums its rows per channel, relative to
  // a per-group shift (the sample's first value of the group) so the variance does not cancel.
  std::vector<double> s1(size_t(threads * c)), s2(size_t(threads * c));
  std::vector<float> shift(static_cast<size_t>(c)), a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  dispatch_float2(x.dtype(), y.dtype(), [&](auto in_tag, auto out_tag) {
    using TI = decltype(in_tag);
    using TO = decltype(out_tag);
    for (int64_t bi = 0; bi < n; ++bi) {
      const TI* src = x.data<TI>() + bi * positions * c;
      TO* dst = y.data<TO>() + bi * positions * c;
      for (int64_t k = 0; k < c; ++k) shift[size_t(k)] = load(src, (k / cg) * cg);
      std::fill(s1.begin(), s1.end(), 0.0);
      std::fill(s2.begin(), s2.end(), 0.0);
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t r0 = positions * t / nt, r1 = positions * (t + 1) / nt;
        // float32 sums over runs of kRun rows, double across runs.
        constexpr int64_t kRun = 64;
        std::vector<float> f1(static_cast<size_t>(c)), f2(static_cast<size_t>(c));
        double* d1 = &s1[size_t(t * c)];
        double* d2 = &s2[size_t(t * c)];
        for (int64_t r = r0; r < r1; r += kRun) {
          std::fill(f1.begin(), f1.end(), 0.0f);
          std::fill(f2.begin(), f2.end(), 0.0f);
          kern.channel_moments(src + r * c, tx, c, std::min(r1, r + kRun) - r, shift.data(), f1.data(), f2.data());
          for (int64_t ch = 0; ch < c; ++ch) {
            d1[ch] += f1[size_t(ch)];
            d2[ch] += f2[size_t(ch)];
          }
        }
      }
      const double count = double(positions * cg);
      for (int64_t gi = 0; gi < g; ++gi) {
        double m1 = 0, m2 = 0;
        for (int t = 0; t < threads; ++t)
          for (int64_t k = gi * cg; k < (gi + 1) * cg; ++k) {
            m1 += s1[size_t(t * c + k)];
            m2 += s2[size_t(t * c + k)];
          }
        const double mean_shifted = m1 / count;
        const double var = std::max(0.0, m2 / count - mean_shifted * mean_shifted);
        const double mean = mean_shifted + shift[size_t(gi * cg)];
        const double rstd = 1.0 / std::sqrt(var + double(eps_));
        for (int64_t k = gi * cg; k < (gi + 1) * cg; ++k) {
          a[size_t(k)] = float(rstd * gamma[k]);
          b[size_t(k)] = float(beta[k] - mean * rstd * gamma[k]);
        }
      }
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int64_t p = 0; p < positions; ++p)
        kern.scale_shift(src + p * c, tx, dst + p * c, ty, c, a.data(), b.data(), silu);
    }
  });
  return y;
}

LayerNorm::LayerNorm(const Weights& w, int64_t dim, float eps, bool affine) : dim_(dim), eps_(eps) {
  SDFAST_CHECK(dim > 0, "LayerNorm '", w.prefix(), "': dimension must be positive, got ", dim);
  if (affine) {
    weight_ = w.get("weight", {dim}, DType::F32);
    bias_ = w.get("bias", {dim}, DType::F32);
  } else {
    weight_ = Tensor::full({dim}, 1.0f);
    bias_ = Tensor::zeros({dim});
  }
}

Tensor LayerNorm::forward(Runtime& rt, const Tensor& x, std::optional<DType> out) const {
  SDFAST_CHECK(x.ndim() >= 1 && x.dim(-1) == dim_, "LayerNorm: input ", x.describe(),
               " does not end in ", dim_);
  const int64_t rows = x.numel() / dim_, d = dim_;
  Tensor y = Tensor::empty(x.shape(), out.value_or(rt.activation()));
  const float* gamma = weight_.data<float>();
  const float* beta = bias_.data<float>();
  const auto& kern = rt.kernels();
  const simd::Elem tx = elem_of(x.dtype()), ty = elem_of(y.dtype());
  dispatch_float2(x.dtype(), y.dtype(), [&](auto in_tag, auto out_tag) {
    using TI = decltype(in_tag);
    using TO = decltype(out_tag);
    const TI* src = x.data<TI>();
    TO* dst = y.data<TO>();
#pragma omp parallel
    {
      std::vector<float> a(static_cast<size_t>(d)), b(static_cast<size_t>(d));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const TI* row = src + r * d;
        // Moments relative to the row's first value, so the variance does not cancel.
        const float shift = load(row, 0);
        double m1 = 0, m2 = 0;
        kern.row_moments(row, tx, d, shift, &m1, &m2);
        const double mean_shifted = m1 / double(d);
        const float mean = float(mean_shifted + shift);
        const double var = std::max(0.0, m2 / double(d) - mean_shifted * mean_shifted);
        const float rstd = float(1.0 / std::sqrt(var + double(eps_)));
        for (int64_t i = 0; i < d; ++i) {
          a[size_t(i)] = rstd * gamma[i];
          b[size_t(i)] = beta[i] - mean * a[size_t(i)];
        }
        kern.scale_shift(row, tx, dst + r * d, ty, d, a.data(), b.data(), false);
      }
    }
  });
  return y;
}

}  // namespace sdfast::ops
