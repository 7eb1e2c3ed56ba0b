#include "ops/elementwise.h"

#include <cmath>

#include "ops/elem.h"
#include "ops/vmath.h"

namespace sdfast::ops {


namespace {

// y[i] = f(x[i]) over elements [0, n) of raw buffers; f is a generic lambda over vm:: math.
template <class TI, class TO, class F>
void map_unary(const TI* src, TO* dst, int64_t n, F f) {
#if defined(__AVX512F__)
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) simd::store(dst + i, f(simd::load(src + i)));
  if (i < n) {
    const __mmask16 m = simd::tail_mask(n - i);
    simd::store(dst + i, f(simd::load(src + i, m)), m);
  }
#else
  for (int64_t i = 0; i < n; ++i) store(dst, i, f(load(src, i)));
#endif
}

// y[i] = f(a[i], b[i]) over [0, n).
template <class TA, class TB, class TO, class F>
void map_binary(const TA* a, const TB* b, TO* dst, int64_t n, F f) {
#if defined(__AVX512F__)
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) simd::store(dst + i, f(simd::load(a + i), simd::load(b + i)));
  if (i < n) {
    const __mmask16 m = simd::tail_mask(n - i);
    simd::store(dst + i, f(simd::load(a + i, m), simd::load(b + i, m)), m);
  }
#else
  for (int64_t i = 0; i < n; ++i) store(dst, i, f(load(a, i), load(b, i)));
#endif
}

// Splits [0, n) into chunks of whole 16-lane blocks for the threads.
template <class Body>
void parallel_chunks(int64_t n, Body body) {
  constexpr int64_t kChunk = 16 * 1024;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// y = f(x) element-wise, in the activation dtype.
template <class F>
Tensor unary(Runtime& rt, const Tensor& x, F f) {
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  dispatch_float(x.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(y.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* src = x.data<TI>();
      TO* dst = y.data<TO>();
      parallel_chunks(x.numel(), [&](int64_t b, int64_t e) { map_unary(src + b, dst + b, e - b, f); });
    });
  });
  return y;
}

// y[i] = f(a[i], b[i % b.numel()]): same shapes, or b repeated over a's leading dimensions.
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
          parallel_chunks(n, [&](int64_t s, int64_t e) { map_binary(ap + s, bp + s, yp + s, e - s, f); });
        } else {
#pragma omp parallel for schedule(static)
          for (int64_t r = 0; r < n / nb; ++r) map_binary(ap + r * nb, bp, yp + r * nb, nb, f);
        }
      });
    });
  });
  return y;
}

}  // namespace

Tensor add(Runtime& rt, const Tensor& a, const Tensor& b) {
  return binary(rt, a, b, [](auto x, auto y) { return vm::add(x, y); }, "add");
}

Tensor add_scaled(Runtime& rt, const Tensor& a, const Tensor& b, float s) {
  return binary(rt, a, b, [s](auto x, auto y) { return vm::mul(vm::add(x, y), s); }, "add_scaled");
}

Tensor scale(Runtime& rt, const Tensor& x, float s) {
  return unary(rt, x, [s](auto v) { return vm::mul(v, s); });
}

Tensor add_channel_bias(Runtime& rt, const Tensor& x, const Tensor& bias) {
  SDFAST_CHECK(x.ndim() >= 2 && bias.ndim() == 2 && bias.dim(0) == x.dim(0) && bias.dim(1) == x.dim(-1),
               "add_channel_bias: bias ", bias.describe(), " does not fit ", x.describe());
  const int64_t n = x.dim(0), c = x.dim(-1), positions = x.numel() / (n * c);
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  const Tensor bf = bias.to(DType::F32);
  const float* bv = bf.data<float>();
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
          map_binary(src + off, bv + b * c, dst + off, c, [](auto v, auto w) { return vm::add(v, w); });
        }
    });
  });
  return y;
}

Tensor silu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](auto v) { return vm::mul(v, vm::sigmoid(v)); });
}
Tensor gelu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](auto v) { return vm::gelu(v); });
}
Tensor quick_gelu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](auto v) { return vm::mul(v, vm::sigmoid(vm::mul(v, 1.702f))); });
}
Tensor relu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, [](auto v) { return vm::max(v, 0.0f); });
}
Tensor tanh_clamp(Runtime& rt, const Tensor& x, float c) {
  return unary(rt, x, [c](auto v) { return vm::mul(vm::tanh(vm::mul(v, 1.0f / c)), c); });
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
        map_binary(src + r * 2 * f, src + r * 2 * f + f, dst + r * f, f,
                   [](auto h, auto gate) { return vm::mul(h, vm::gelu(gate)); });
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
        const auto copy = [](auto v) { return v; };
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
          map_unary(ap + r * ca, yp + r * (ca + cb), ca, copy);
          map_unary(bp + r * cb, yp + r * (ca + cb) + ca, cb, copy);
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
            map_unary(src + so, dst + d, c, [](auto v) { return v; });
          }
        }
    });
  });
  return y;
}

}  // namespace sdfast::ops
