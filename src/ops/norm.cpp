// References: torch.nn.functional.group_norm / layer_norm (biased variance, eps inside the sqrt).
#include "ops/norm.h"

#include <cmath>
#include <vector>

#include <omp.h>

#include <algorithm>

#include "core/simd.h"
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

namespace {

// Per-channel sums of (x - shift[c]) and (x - shift[c])^2 over rows [r0, r1) of a [rows, c] block,
// accumulated in float over runs of kRun rows and in double across runs.
template <class T>
void channel_moments(const T* x, int64_t c, int64_t r0, int64_t r1, const float* shift, double* s1,
                     double* s2, float* f1, float* f2) {
  constexpr int64_t kRun = 64;
  for (int64_t r = r0; r < r1; r += kRun) {
    const int64_t re = std::min(r1, r + kRun);
    std::fill(f1, f1 + c, 0.0f);
    std::fill(f2, f2 + c, 0.0f);
    for (int64_t row = r; row < re; ++row) {
      const T* xr = x + row * c;
#if defined(__AVX512F__)
      for (int64_t k = 0; k < c; k += 16) {
        const __mmask16 m = simd::tail_mask(c - k);
        const __m512 d = _mm512_sub_ps(simd::load(xr + k, m), _mm512_maskz_loadu_ps(m, shift + k));
        _mm512_mask_storeu_ps(f1 + k, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, f1 + k), d));
        _mm512_mask_storeu_ps(f2 + k, m, _mm512_fmadd_ps(d, d, _mm512_maskz_loadu_ps(m, f2 + k)));
      }
#else
      for (int64_t k = 0; k < c; ++k) {
        const float d = load(xr, k) - shift[k];
        f1[k] += d;
        f2[k] += d * d;
      }
#endif
    }
    for (int64_t k = 0; k < c; ++k) {
      s1[k] += f1[k];
      s2[k] += f2[k];
    }
  }
}

// y[k] = x[k] * a[k] + b[k] (then SiLU) over one row of c channels.
template <class TI, class TO>
void scale_shift_row(const TI* x, TO* y, int64_t c, const float* a, const float* b, bool silu) {
#if defined(__AVX512F__)
  for (int64_t k = 0; k < c; k += 16) {
    const __mmask16 m = simd::tail_mask(c - k);
    __m512 v = _mm512_fmadd_ps(simd::load(x + k, m), _mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k));
    if (silu) v = simd::silu(v);
    simd::store(y + k, v, m);
  }
#else
  for (int64_t k = 0; k < c; ++k) {
    float v = load(x, k) * a[k] + b[k];
    if (silu) v = v / (1.0f + std::exp(-v));
    store(y, k, v);
  }
#endif
}

}  // namespace

Tensor GroupNorm::forward(Runtime& rt, const Tensor& x, bool silu, std::optional<DType> out) const {
  SDFAST_CHECK(x.ndim() >= 2 && x.dim(-1) == channels_, "GroupNorm: input ", x.describe(),
               " does not have ", channels_, " channels last");
  const int64_t n = x.dim(0), c = channels_, g = groups_, cg = c / g;
  const int64_t positions = x.numel() / (n * c);
  Tensor y = Tensor::empty(x.shape(), out.value_or(rt.activation()));
  const float* gamma = weight_.data<float>();
  const float* beta = bias_.data<float>();
  const int threads = rt.threads();
  // Rows of each sample are split among the threads; each sums its rows per channel, relative to
  // a per-group shift (the sample's first value of the group) so the variance does not cancel.
  std::vector<double> s1(size_t(threads * c)), s2(size_t(threads * c));
  std::vector<float> shift(static_cast<size_t>(c)), a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
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
          std::vector<float> f1(static_cast<size_t>(c)), f2(static_cast<size_t>(c));
          channel_moments(src, c, r0, r1, shift.data(), &s1[size_t(t * c)], &s2[size_t(t * c)], f1.data(),
                          f2.data());
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
          scale_shift_row(src + p * c, dst + p * c, c, a.data(), b.data(), silu);
      }
    });
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
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel
      {
        std::vector<float> a(static_cast<size_t>(d)), b(static_cast<size_t>(d));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
          const TI* row = src + r * d;
          double sum = 0;
          for (int64_t k = 0; k < d; ++k) sum += load(row, k);
          const float mean = float(sum / double(d));
          double var = 0;
          for (int64_t k = 0; k < d; ++k) {
            const float diff = load(row, k) - mean;
            var += double(diff) * diff;
          }
          const float rstd = float(1.0 / std::sqrt(var / double(d) + double(eps_)));
          for (int64_t k = 0; k < d; ++k) {
            a[size_t(k)] = rstd * gamma[k];
            b[size_t(k)] = beta[k] - mean * a[size_t(k)];
          }
          scale_shift_row(row, dst + r * d, d, a.data(), b.data(), false);
        }
      }
    });
  });
  return y;
}

}  // namespace sdfast::ops
