#include "ops/elementwise.h"

#include <cmath>

#include "ops/elem.h"

namespace sdfast::ops {


namespace {

using simd::Binary;
using simd::Unary;

// Splits [0, n) into chunks for the threads.
template <class Body>
void parallel_chunks(int64_t n, Body body) {
  constexpr int64_t kChunk = 16 * 1024;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// y = op(x) element-wise, in the activation dtype.
Tensor unary(Runtime& rt, const Tensor& x, Unary op, float p = 0.0f) {
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  const auto src = kernel_elems(x);
  const auto dst = kernel_elems(y);
  const auto& kern = rt.kernels();
  parallel_chunks(x.numel(), [&](int64_t b, int64_t e) {
    kern.unary(op, p, src.at(b), src.elem, dst.at(b), dst.elem, e - b);
  });
  return y;
}

// y[i] = op(a[i], b[i % b.numel()]): same shapes, or b repeated over a's leading dimensions.
Tensor binary(Runtime& rt, const Tensor& a, const Tensor& b, Binary op, float p, const char* what) {
  const int64_t n = a.numel(), nb = b.numel();
  SDFAST_CHECK(nb > 0 && n % nb == 0 && (a.shape() == b.shape() || nb < n), what, ": cannot combine ",
               a.describe(), " and ", b.describe());
  Tensor y = Tensor::empty(a.shape(), rt.activation());
  const auto ae = kernel_elems(a), be = kernel_elems(b);
  const auto ye = kernel_elems(y);
  const auto& kern = rt.kernels();
  if (nb == n) {
    parallel_chunks(n, [&](int64_t s, int64_t e) {
      kern.binary(op, p, ae.at(s), ae.elem, be.at(s), be.elem, ye.at(s), ye.elem, e - s);
    });
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n / nb; ++r)
      kern.binary(op, p, ae.at(r * nb), ae.elem, be.base, be.elem, ye.at(r * nb), ye.elem, nb);
  }
  return y;
}

// Copies n elements from src[i] to dst[j], converting between their types.
template <class In, class Out>
void copy_elems(const simd::Kernels& kern, const KernelElems<In>& src, int64_t i, const KernelElems<Out>& dst,
                int64_t j, int64_t n) {
  kern.unary(Unary::Copy, 0.0f, src.at(i), src.elem, dst.at(j), dst.elem, n);
}

}  // namespace

Tensor add(Runtime& rt, const Tensor& a, const Tensor& b) {
  return binary(rt, a, b, Binary::Add, 0.0f, "add");
}

Tensor add_scaled(Runtime& rt, const Tensor& a, const Tensor& b, float s) {
  return binary(rt, a, b, Binary::AddScaled, s, "add_scaled");
}

Tensor scale(Runtime& rt, const Tensor& x, float s) {
  return unary(rt, x, Unary::Scale, s);
}

Tensor add_channel_bias(Runtime& rt, const Tensor& x, const Tensor& bias) {
  SDFAST_CHECK(x.ndim() >= 2 && bias.ndim() == 2 && bias.dim(0) == x.dim(0) && bias.dim(1) == x.dim(-1),
               "add_channel_bias: bias ", bias.describe(), " does not fit ", x.describe());
  const int64_t n = x.dim(0), c = x.dim(-1), positions = x.numel() / (n * c);
  Tensor y = Tensor::empty(x.shape(), rt.activation());
  const Tensor bf = bias.to(DType::F32);
  const float* bv = bf.data<float>();
  const auto& kern = rt.kernels();
  const auto src = kernel_elems(x);
  const auto dst = kernel_elems(y);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < positions; ++p) {
      const int64_t off = (b * positions + p) * c;
      kern.binary(Binary::Add, 0.0f, src.at(off), src.elem, bv + b * c, simd::Elem::F32, dst.at(off), dst.elem, c);
    }
  return y;
}

Tensor silu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, Unary::Silu);
}
Tensor gelu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, Unary::Gelu);
}
Tensor quick_gelu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, Unary::QuickGelu);
}
Tensor relu(Runtime& rt, const Tensor& x) {
  return unary(rt, x, Unary::Relu);
}
Tensor tanh_clamp(Runtime& rt, const Tensor& x, float c) {
  return unary(rt, x, Unary::TanhClamp, c);
}

Tensor geglu(Runtime& rt, const Tensor& x, DType out) {
  SDFAST_CHECK(x.ndim() >= 1 && x.dim(-1) % 2 == 0, "geglu: last dimension of ", x.describe(),
               " must be even");
  const int64_t f = x.dim(-1) / 2, rows = x.numel() / (2 * f);
  Shape shape = x.shape();
  shape.back() = f;
  Tensor y = Tensor::empty(shape, out);
  const auto& kern = rt.kernels();
  const auto src = kernel_elems(x);
  const auto dst = kernel_elems(y);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    kern.binary(Binary::GeluGate, 0.0f, src.at(r * 2 * f), src.elem, src.at(r * 2 * f + f), src.elem, dst.at(r * f),
                dst.elem, f);
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
  const auto& kern = rt.kernels();
  const auto ae = kernel_elems(a), be = kernel_elems(b);
  const auto ye = kernel_elems(y);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    copy_elems(kern, ae, r * ca, ye, r * (ca + cb), ca);
    copy_elems(kern, be, r * cb, ye, r * (ca + cb) + ca, cb);
  }
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
  const auto& kern = rt.kernels();
  const auto src = kernel_elems(x);
  const auto dst = kernel_elems(y);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const int64_t iy = std::min(int64_t(std::floor(float(oy) * sh)), h - 1);
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t ix = std::min(int64_t(std::floor(float(ox) * sw)), w - 1);
        const int64_t so = ((b * h + iy) * w + ix) * c, d = ((b * out_h + oy) * out_w + ox) * c;
        copy_elems(kern, src, so, dst, d, c);
      }
    }
  return y;
}

}  // namespace sdfast::ops
