// References: torch.nn.functional.group_norm / layer_norm (biased variance, eps inside the sqrt).
#include "ops/norm.h"

#include <cmath>
#include <vector>

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
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < n; ++b) {
        for (int64_t gi = 0; gi < g; ++gi) {
          const TI* base = src + b * positions * c + gi * cg;
          double sum = 0;
          for (int64_t p = 0; p < positions; ++p) {
            float s = 0;
            for (int64_t k = 0; k < cg; ++k) s += load(base, p * c + k);
            sum += s;
          }
          const double count = double(positions * cg);
          const float mean = float(sum / count);
          double var = 0;
          for (int64_t p = 0; p < positions; ++p) {
            float s = 0;
            for (int64_t k = 0; k < cg; ++k) {
              const float d = load(base, p * c + k) - mean;
              s += d * d;
            }
            var += s;
          }
          const float rstd = float(1.0 / std::sqrt(var / count + double(eps_)));
          TO* out = dst + b * positions * c + gi * cg;
          for (int64_t p = 0; p < positions; ++p) {
            for (int64_t k = 0; k < cg; ++k) {
              const int64_t ch = gi * cg + k;
              float v = (load(base, p * c + k) - mean) * rstd * gamma[ch] + beta[ch];
              if (silu) v = v / (1.0f + std::exp(-v));
              store(out, p * c + k, v);
            }
          }
        }
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
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const TI* row = src + r * d;
        float sum = 0;
        for (int64_t k = 0; k < d; ++k) sum += load(row, k);
        const float mean = sum / float(d);
        float var = 0;
        for (int64_t k = 0; k < d; ++k) {
          const float diff = load(row, k) - mean;
          var += diff * diff;
        }
        const float rstd = 1.0f / std::sqrt(var / float(d) + eps_);
        TO* out = dst + r * d;
        for (int64_t k = 0; k < d; ++k) store(out, k, (load(row, k) - mean) * rstd * gamma[k] + beta[k]);
      }
    });
  });
  return y;
}

}  // namespace sdfast::ops
