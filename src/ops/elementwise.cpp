#include "ops/elementwise.h"

#include <cmath>

#include "ops/elem.h"

namespace sdfast::ops {

namespace {

// y[i] = f(x[i]) over all elements, in the activation dtype.
template <class F>
Tensor unary(Runtime& rt, const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) store(dst, i, f(load(src, i)));
    });
  });
  return y;
}

// y[i] = f(a[i], b[i % b.numel()]).
template <class F>
Tensor binary(Runtime& rt, const Tensor& a, const Tensor& b, F f, const char* what) {
  const int64_t n = a.numel(), nb = b.numel();
  SDFAST_CHECK(nb > 0 && n % nb == 0 && (a.shape() == b.shape() || nb < n), what, ": cannot combine ",
               a.describe(), " and ", b.describe());
  Tensor y = Tensor::empty(a.shape(), rt.activation());
  dispatch_float(a.dtype(), [&](auto a_tag) {
    using TA = decltype(a_tag);
    dispatch_float(b.dtype(), [&](auto b_tag) {
      using TB = decltype(b_tag);
      dispatch_float(y.dtype(), [&](auto y_tag) {
        using TY = decltype(y_tag);
        const TA* ap = a.data<TA>();
        const TB* bp = b.data<TB>();
        TY* yp = y.data<TY>();
        if (nb == n) {
#pragma omp parallel for schedule(static)
          for (int64_t i = 0; i < n; ++i) store(yp, i, f(load(ap, i), load(bp, i)));
        } else {
#pragma omp parallel for schedule(static)
          for (int64_t r = 0; r < n / nb; ++r)
            for (int64_t j = 0; j < nb; ++j) store(yp, r * nb + j, f(load(ap, r * nb + j), load(bp, j)));
        }
      });
    });
  });
  return y;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

}  // namespace

Tensor add(Runtime& rt, const Tensor& a, const Tensor& b) {
  return binary(rt, a, b, [](float x, float y) { return x + y; }, "add");
}

Tensor add_scaled(Runtime& rt, const Tensor& a, const Tensor& b, float s) {
  return binary(rt, a, b, [s](float x, float y) { return (x + y) * s; }, "add_scaled");
}

Tensor scale(Runtime& rt, const Tensor& x, float s) {
  return unary(rt, x, [s](float v) { return v * s; });
}

Tensor add_channel_bias(Runtime& rt, const Tensor& x, const Tensor& bias) {
  SDFAST_CHECK(x.ndim() >= 2 && bias.ndim() == 2 && bias.dim(0) == x.dim(0) && bias.dim(1) == x.dim(-1),
               "add_channel_bias: bias ", bias.describe(), " does not fit ", x.describe());
  const int64_t n = x.dim(0), c = x.dim(-1), positions = x.numel() / (n * c);
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  const std::vector<float> bv = bias.to_vector();
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < n; ++b)
        for (int64_t p = 0; p < positions; ++p) {
          const int64_t off = (b * positions + p) * c;
          for (int64_t k = 0; k < c; ++k) store(dst, off + k, load(src, off + k) + bv[size_t(b * c + k)]);
        }
    });
  });
  return y;
}

Tensor silu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](float v) { return v * sigmoid(v); });
}
Tensor gelu(Runtime& rt, const Tensor& x) { return unary(rt, x, gelu_erf); }
Tensor quick_gelu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](float v) { return v * sigmoid(1.702f * v); });
}
Tensor relu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](float v) { return v > 0.0f ? v : 0.0f; });
}
Tensor tanh_clamp(Runtime& rt, const Tensor& x, float c) {
  return unary(rt, x, [c](float v) { return std::tanh(v / c) * c; });
}

Tensor geglu(Runtime& rt, const Tensor& x, DType out) {
  SDFAST_CHECK(x.ndim() >= 1 && x.dim(-1) % 2 == 0, "geglu: last dimension of ", x.describe(),
               " must be even");
  const int64_t f = x.dim(-1) / 2, rows = x.numel() / (2 * f);
  Shape shape = x.shape();
  shape.back() = f;
  Tensor y = Tensor::empty(shape, out);
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < f; ++k)
          store(dst, r * f + k, load(src, r * 2 * f + k) * gelu_erf(load(src, r * 2 * f + f + k)));
    });
  });
  return y;
}

Tensor concat_last(Runtime& rt, const Tensor& a, const Tensor& b) {
  SDFAST_CHECK(a.ndim() == b.ndim() && a.ndim() >= 1, "concat_last: ", a.describe(), " and ",
               b.describe());
  for (int i = 0; i + 1 < a.ndim(); ++i)
    SDFAST_CHECK(a.dim(i) == b.dim(i), "concat_last: ", a.describe(), " and ", b.describe(),
                 " differ in dimension ", i);
  const int64_t ca = a.dim(-1), cb = b.dim(-1), rows = a.numel() / std::max<int64_t>(ca, 1);
  Shape shape = a.shape();
  shape.back() = ca + cb;
  Tensor y = Tensor::empty(shape, rt.activation());
  dispatch_float(a.dtype(), [&](auto a_tag) {
    using TA = decltype(a_tag);
    dispatch_float(b.dtype(), [&](auto b_tag) {
      using TB = decltype(b_tag);
      dispatch_float(y.dtype(), [&](auto y_tag) {
        using TY = decltype(y_tag);
        const TA* ap = a.data<TA>();
        const TB* bp = b.data<TB>();
        TY* yp = y.data<TY>();
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t k = 0; k < ca; ++k) store(yp, r * (ca + cb) + k, load(ap, r * ca + k));
          for (int64_t k = 0; k < cb; ++k) store(yp, r * (ca + cb) + ca + k, load(bp, r * cb + k));
        }
      });
    });
  });
  return y;
}

Tensor nchw_to_nhwc(const Tensor& x, DType dtype) {
  check_rank(x, 4, "nchw_to_nhwc");
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const Tensor xf = x.to(DType::F32);
  Tensor y = Tensor::empty({n, h, w, c}, dtype);
  const float* src = xf.data<float>();
  dispatch_float(dtype, [&](auto tag_v) {
    using T = decltype(tag_v);
    T* dst = y.data<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < h * w; ++p) store(dst, (b * h * w + p) * c + ch, src[(b * c + ch) * h * w + p]);
  });
  return y;
}

Tensor nhwc_to_nchw(const Tensor& x) {
  check_rank(x, 4, "nhwc_to_nchw");
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = Tensor::empty({n, c, h, w}, DType::F32);
  float* dst = y.data<float>();
  dispatch_float(x.dtype(), [&](auto tag_v) {
    using T = decltype(tag_v);
    const T* src = x.data<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < h * w; ++p)
        for (int64_t ch = 0; ch < c; ++ch) dst[(b * c + ch) * h * w + p] = load(src, (b * h * w + p) * c + ch);
  });
  return y;
}

Tensor upsample_nearest(Runtime& rt, const Tensor& x, int64_t out_h, int64_t out_w) {
  check_rank(x, 4, "upsample_nearest");
  SDFAST_CHECK(out_h > 0 && out_w > 0, "upsample_nearest: bad output size ", out_h, "x", out_w);
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = Tensor::empty({n, out_h, out_w, c}, rt.activation());
  // torch (nearest): src = min(floor(dst * (in / out)), in - 1), the scale computed in float.
  const float sh = float(h) / float(out_h), sw = float(w) / float(out_w);
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < n; ++b)
        for (int64_t oy = 0; oy < out_h; ++oy) {
          const int64_t iy = std::min(int64_t(std::floor(float(oy) * sh)), h - 1);
          for (int64_t ox = 0; ox < out_w; ++ox) {
            const int64_t ix = std::min(int64_t(std::floor(float(ox) * sw)), w - 1);
            const int64_t so = ((b * h + iy) * w + ix) * c, d = ((b * out_h + oy) * out_w + ox) * c;
            for (int64_t k = 0; k < c; ++k) store(dst, d + k, load(src, so + k));
          }
        }
    });
  });
  return y;
}

}  // namespace sdfast::ops
