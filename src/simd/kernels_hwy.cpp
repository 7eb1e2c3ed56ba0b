// The kernel tables of simd/kernels.h, written once on Google Highway and compiled for each
// x86 target (AVX-512, AVX2, the build's baseline) and, on Arm, NEON. This file is included once
// per target by hwy/foreach_target.h; everything between HWY_BEFORE_NAMESPACE and
// HWY_AFTER_NAMESPACE is compiled for that target only.
//
// Tails shorter than a vector go through a stack buffer of one vector, so every element, tail or
// not, gets the same arithmetic (results do not depend on where a row starts or ends).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/kernels_hwy.cpp"
// SVE's sizeless vectors cannot live in the arrays the micro-kernels keep accumulators in;
// SSSE3/SSE4 add compile time for CPUs that predate AVX2 and are served by the baseline.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "simd/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace sdfast::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// ---- math on float32 vectors -------------------------------------------------------------

// 2^n for integer lanes n in [-126, 127].
template <class VI>
HWY_INLINE VF Exp2Int(VI n) {
  const DF d;
  const hn::RebindToSigned<DF> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(n, hn::Set(di, 127))));
}

// e^x: Cody-Waite range reduction and a degree-6 polynomial (~1 ulp); 0 below -104 (and for
// -inf), saturating above 88.7. 2^n is applied in two halves so subnormal results stay exact.
HWY_INLINE VF Exp(VF x) {
  const DF d;
  const hn::RebindToSigned<DF> di;
  x = hn::Min(hn::Max(x, hn::Set(d, -104.0f)), hn::Set(d, 88.7f));
  const VF n = hn::Round(hn::Mul(x, hn::Set(d, 1.44269504088896341f)));
  VF r = hn::NegMulAdd(n, hn::Set(d, 0.693359375f), x);
  r = hn::NegMulAdd(n, hn::Set(d, -2.12194440e-4f), r);
  VF p = hn::Set(d, 1.9875691500e-4f);
  p = hn::MulAdd(p, r, hn::Set(d, 1.3981999507e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
  p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
  p = hn::MulAdd(p, hn::Mul(r, r), hn::Add(r, hn::Set(d, 1.0f)));
  const auto ni = hn::ConvertTo(di, n);
  const auto n1 = hn::ShiftRight<1>(ni);
  return hn::Mul(hn::Mul(p, Exp2Int(n1)), Exp2Int(hn::Sub(ni, n1)));
}

// 2^x for the bf16 attention path, whose probabilities are rounded to bfloat16 (relative
// precision 2^-9) right after: x = n + f, |f| <= 1/2, degree-5 polynomial (~3e-6); 0 below -126.
HWY_INLINE VF Exp2Coarse(VF x) {
  const DF d;
  const hn::RebindToSigned<DF> di;
  x = hn::Min(hn::Max(x, hn::Set(d, -127.0f)), hn::Set(d, 127.0f));
  const VF n = hn::Round(x);
  const VF f = hn::Sub(x, n);
  VF p = hn::Set(d, 1.3333558e-3f);
  p = hn::MulAdd(p, f, hn::Set(d, 9.6181291e-3f));
  p = hn::MulAdd(p, f, hn::Set(d, 5.5504109e-2f));
  p = hn::MulAdd(p, f, hn::Set(d, 2.4022651e-1f));
  p = hn::MulAdd(p, f, hn::Set(d, 6.9314718e-1f));
  p = hn::MulAdd(p, f, hn::Set(d, 1.0f));
  const auto ni = hn::ConvertTo(di, n);
  const auto n1 = hn::ShiftRight<1>(ni);
  return hn::Mul(hn::Mul(p, Exp2Int(n1)), Exp2Int(hn::Sub(ni, n1)));
}

HWY_INLINE VF Sigmoid(VF x) {
  const DF d;
  const VF one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, Exp(hn::Neg(x))));
}

// erf(x): odd polynomial of degree 13 over one of degree 8 in x^2 on [-4, 4], saturating to +-1
// outside; max abs error ~2e-7.
HWY_INLINE VF Erf(VF a) {
  const DF d;
  const VF x = hn::Max(hn::Min(a, hn::Set(d, 4.0f)), hn::Set(d, -4.0f));
  const VF x2 = hn::Mul(x, x);
  VF p = hn::Set(d, -2.72614225801306e-10f);
  p = hn::MulAdd(p, x2, hn::Set(d, 2.77068142495902e-08f));
  p = hn::MulAdd(p, x2, hn::Set(d, -2.10102402082508e-06f));
  p = hn::MulAdd(p, x2, hn::Set(d, -5.69250639462346e-05f));
  p = hn::MulAdd(p, x2, hn::Set(d, -7.34990630326855e-04f));
  p = hn::MulAdd(p, x2, hn::Set(d, -2.95459980854025e-03f));
  p = hn::MulAdd(p, x2, hn::Set(d, -1.60960333262415e-02f));
  p = hn::Mul(p, x);
  VF q = hn::Set(d, -1.45660718464996e-05f);
  q = hn::MulAdd(q, x2, hn::Set(d, -2.13374055278905e-04f));
  q = hn::MulAdd(q, x2, hn::Set(d, -1.68282697438203e-03f));
  q = hn::MulAdd(q, x2, hn::Set(d, -7.37332916720468e-03f));
  q = hn::MulAdd(q, x2, hn::Set(d, -1.42647390514189e-02f));
  return hn::Div(p, q);
}

HWY_INLINE VF Gelu(VF x) {
  const DF d;
  const VF e = Erf(hn::Mul(x, hn::Set(d, 0.70710678118654752f)));
  return hn::Mul(hn::Mul(hn::Set(d, 0.5f), x), hn::Add(hn::Set(d, 1.0f), e));
}

// tanh(x) = 1 - 2 / (e^{2x} + 1), exact at the saturation ends.
HWY_INLINE VF Tanh(VF x) {
  const DF d;
  const VF one = hn::Set(d, 1.0f);
  return hn::Sub(one, hn::Div(hn::Set(d, 2.0f), hn::Add(Exp(hn::Add(x, x)), one)));
}

// ---- float32 / bfloat16 storage ---------------------------------------------------------------

HWY_INLINE VF Load(const float* p) { return hn::LoadU(DF(), p); }
HWY_INLINE VF Load(const uint16_t* p) {
  const DF d;
  const hn::RebindToUnsigned<DF> du32;
  const hn::Rebind<uint16_t, DF> du16;
  return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
}
HWY_INLINE void Store(VF v, float* p) { hn::StoreU(v, DF(), p); }
// float32 -> bfloat16, rounding to nearest even (NaN stays a quiet NaN), as f32_to_bf16.
HWY_INLINE void Store(VF v, uint16_t* p) {
  const DF d;
  const hn::RebindToUnsigned<DF> du32;
  const hn::RebindToSigned<DF> di32;
  const hn::Rebind<uint16_t, DF> du16;
  const auto u = hn::BitCast(du32, v);
  const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du32, 1u));
  auto r = hn::Add(u, hn::Add(hn::Set(du32, 0x7fffu), lsb));
  r = hn::IfThenElse(hn::RebindMask(du32, hn::IsNaN(v)), hn::Or(u, hn::Set(du32, 0x400000u)), r);
  (void)d;
  hn::StoreU(hn::DemoteTo(du16, hn::BitCast(di32, hn::ShiftRight<16>(r))), du16, p);
}

// bf16 bits -> float, for the tails.
HWY_INLINE float ToFloat(float v) { return v; }
HWY_INLINE float ToFloat(uint16_t v) {
  const uint32_t u = uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Element i of p, which need not be aligned to its type (tensor data inside a file need not be).
template <class T>
HWY_INLINE float ReadFloat(const T* p, size_t i) {
  T v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(p) + i * sizeof(T), sizeof(T));
  return ToFloat(v);
}

template <class T>
HWY_INLINE VF LoadTail(const T* p, size_t n) {
  alignas(64) float buf[kMaxLanes] = {};
  for (size_t i = 0; i < n; ++i) buf[i] = ReadFloat(p, i);
  return Load(buf);
}
template <class T>
HWY_INLINE void StoreTail(VF v, T* p, size_t n) {
  alignas(64) T out[kMaxLanes];
  Store(v, out);
  std::memcpy(p, out, n * sizeof(T));
}

// Calls f(float{}) or f(uint16_t{}) for the storage type.
template <class F>
HWY_INLINE void WithType(Elem e, F&& f) {
  if (e == Elem::F32) f(float{});
  else f(uint16_t{});
}

template <class TI, class TO, class F>
HWY_INLINE void Map(const TI* x, TO* y, int64_t n, F f) {
  const size_t N = hn::Lanes(DF());
  size_t i = 0;
  for (; i + N <= size_t(n); i += N) Store(f(Load(x + i)), y + i);
  if (i < size_t(n)) StoreTail(f(LoadTail(x + i, size_t(n) - i)), y + i, size_t(n) - i);
}

template <class TA, class TB, class TO, class F>
HWY_INLINE void Map2(const TA* a, const TB* b, TO* y, int64_t n, F f) {
  const size_t N = hn::Lanes(DF());
  size_t i = 0;
  for (; i + N <= size_t(n); i += N) Store(f(Load(a + i), Load(b + i)), y + i);
  if (i < size_t(n)) {
    const size_t r = size_t(n) - i;
    StoreTail(f(LoadTail(a + i, r), LoadTail(b + i, r)), y + i, r);
  }
}

template <class TI, class TO>
void UnaryTyped(Unary op, float p, const TI* x, TO* y, int64_t n) {
  const DF d;
  const VF pv = hn::Set(d, p);
  switch (op) {
    case Unary::Copy: return Map(x, y, n, [](VF v) { return v; });
    case Unary::Scale: return Map(x, y, n, [pv](VF v) { return hn::Mul(v, pv); });
    case Unary::Silu: return Map(x, y, n, [](VF v) { return hn::Mul(v, Sigmoid(v)); });
    case Unary::Gelu: return Map(x, y, n, [](VF v) { return Gelu(v); });
    case Unary::QuickGelu:
      return Map(x, y, n, [d](VF v) { return hn::Mul(v, Sigmoid(hn::Mul(v, hn::Set(d, 1.702f)))); });
    case Unary::Relu: return Map(x, y, n, [d](VF v) { return hn::Max(v, hn::Zero(d)); });
    case Unary::TanhClamp: {
      const VF inv = hn::Set(d, 1.0f / p);
      return Map(x, y, n, [pv, inv](VF v) { return hn::Mul(Tanh(hn::Mul(v, inv)), pv); });
    }
    case Unary::Exp: return Map(x, y, n, [](VF v) { return Exp(v); });
  }
}

void UnaryKernel(Unary op, float p, const void* x, Elem tx, void* y, Elem ty, int64_t n) {
  WithType(tx, [&](auto ti) {
    using TI = decltype(ti);
    WithType(ty, [&](auto to) {
      using TO = decltype(to);
      UnaryTyped(op, p, static_cast<const TI*>(x), static_cast<TO*>(y), n);
    });
  });
}

template <class TA, class TB, class TO>
void BinaryTyped(Binary op, float p, const TA* a, const TB* b, TO* y, int64_t n) {
  const VF pv = hn::Set(DF(), p);
  switch (op) {
    case Binary::Add: return Map2(a, b, y, n, [](VF u, VF v) { return hn::Add(u, v); });
    case Binary::AddScaled: return Map2(a, b, y, n, [pv](VF u, VF v) { return hn::Mul(hn::Add(u, v), pv); });
    case Binary::GeluGate: return Map2(a, b, y, n, [](VF u, VF v) { return hn::Mul(u, Gelu(v)); });
  }
}

void BinaryKernel(Binary op, float p, const void* a, Elem ta, const void* b, Elem tb, void* y, Elem ty,
                  int64_t n) {
  WithType(ta, [&](auto xa) {
    using TA = decltype(xa);
    WithType(tb, [&](auto xb) {
      using TB = decltype(xb);
      WithType(ty, [&](auto xo) {
        using TO = decltype(xo);
        BinaryTyped(op, p, static_cast<const TA*>(a), static_cast<const TB*>(b), static_cast<TO*>(y), n);
      });
    });
  });
}

// ---- normalisation pieces ---------------------------------------------------------------------

template <class T>
void ChannelMomentsTyped(const T* x, int64_t c, int64_t rows, const float* shift, float* f1, float* f2) {
  const size_t N = hn::Lanes(DF());
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    size_t k = 0;
    for (; k + N <= size_t(c); k += N) {
      const VF dv = hn::Sub(Load(xr + k), Load(shift + k));
      Store(hn::Add(Load(f1 + k), dv), f1 + k);
      Store(hn::MulAdd(dv, dv, Load(f2 + k)), f2 + k);
    }
    if (k < size_t(c)) {
      const size_t t = size_t(c) - k;
      const VF dv = hn::Sub(LoadTail(xr + k, t), LoadTail(shift + k, t));
      StoreTail(hn::Add(LoadTail(f1 + k, t), dv), f1 + k, t);
      StoreTail(hn::MulAdd(dv, dv, LoadTail(f2 + k, t)), f2 + k, t);
    }
  }
}

void ChannelMoments(const void* x, Elem tx, int64_t c, int64_t rows, const float* shift, float* f1, float* f2) {
  WithType(tx, [&](auto t) { ChannelMomentsTyped(static_cast<const decltype(t)*>(x), c, rows, shift, f1, f2); });
}

template <class T>
void RowMomentsTyped(const T* x, int64_t n, float shift, double* s1, double* s2) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const VF sv = hn::Set(d, shift);
  VF a1 = hn::Zero(d), a2 = hn::Zero(d);
  size_t k = 0;
  for (; k + N <= size_t(n); k += N) {
    const VF dv = hn::Sub(Load(x + k), sv);
    a1 = hn::Add(a1, dv);
    a2 = hn::MulAdd(dv, dv, a2);
  }
  alignas(64) float l1[kMaxLanes], l2[kMaxLanes];
  Store(a1, l1);
  Store(a2, l2);
  double t1 = 0, t2 = 0;
  for (size_t i = 0; i < N; ++i) {
    t1 += l1[i];
    t2 += l2[i];
  }
  for (; k < size_t(n); ++k) {
    const double dv = double(ReadFloat(x, k)) - shift;
    t1 += dv;
    t2 += dv * dv;
  }
  *s1 = t1;
  *s2 = t2;
}

void RowMoments(const void* x, Elem tx, int64_t n, float shift, double* s1, double* s2) {
  WithType(tx, [&](auto t) { RowMomentsTyped(static_cast<const decltype(t)*>(x), n, shift, s1, s2); });
}

template <class TI, class TO>
void ScaleShiftTyped(const TI* x, TO* y, int64_t c, const float* a, const float* b, bool silu) {
  const size_t N = hn::Lanes(DF());
  size_t k = 0;
  const auto f = [silu](VF v, VF av, VF bv) {
    const VF r = hn::MulAdd(v, av, bv);
    return silu ? hn::Mul(r, Sigmoid(r)) : r;
  };
  for (; k + N <= size_t(c); k += N) Store(f(Load(x + k), Load(a + k), Load(b + k)), y + k);
  if (k < size_t(c)) {
    const size_t t = size_t(c) - k;
    StoreTail(f(LoadTail(x + k, t), LoadTail(a + k, t), LoadTail(b + k, t)), y + k, t);
  }
}

void ScaleShift(const void* x, Elem tx, void* y, Elem ty, int64_t c, const float* a, const float* b, bool silu) {
  WithType(tx, [&](auto ti) {
    using TI = decltype(ti);
    WithType(ty, [&](auto to) {
      using TO = decltype(to);
      ScaleShiftTyped(static_cast<const TI*>(x), static_cast<TO*>(y), c, a, b, silu);
    });
  });
}

// ---- flash attention, float32 -----------------------------------------------------------------

// Register blocking: 4 query rows x kNK vectors of keys (scores) or of d (output). AVX-512 has 32
// vector registers, AVX2 and NEON 16.
constexpr int kRows = 4;
constexpr int kNK = HWY_MAX_BYTES >= 64 ? 4 : 2;

// S[r][j0 .. j0 + kNK*N) for rows r0 .. r0+3: Q rows times K^T columns, scaled.
HWY_INLINE void QK(const float* q, int64_t dq, const float* kt, int64_t lkp, int64_t j0, float* s,
                   int64_t r0, VF scale) {
  const DF d;
  const size_t N = hn::Lanes(d);
  VF acc[kRows][kNK];
  for (auto& row : acc)
    for (auto& a : row) a = hn::Zero(d);
  for (int64_t e = 0; e < dq; ++e) {
    const float* krow = kt + e * lkp + j0;
    VF kv[kNK];
    for (int x = 0; x < kNK; ++x) kv[x] = hn::LoadU(d, krow + x * N);
    for (int r = 0; r < kRows; ++r) {
      const VF qv = hn::Set(d, q[(r0 + r) * dq + e]);
      for (int x = 0; x < kNK; ++x) acc[r][x] = hn::MulAdd(qv, kv[x], acc[r][x]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int x = 0; x < kNK; ++x)
      hn::StoreU(hn::Mul(acc[r][x], scale), d, s + (r0 + r) * kFlashK + (j0 % kFlashK) + x * N);
}

// O[r][d0 .. d0 + NV*N) = O * alpha[r] + sum_j P[r][j] V[j][..] for rows r0 .. r0+3.
template <int NV>
HWY_INLINE void PV(const float* p, const float* v, int64_t dp, int64_t nk, int64_t d0, float* o,
                   const float* alpha, int64_t r0) {
  const DF d;
  const size_t N = hn::Lanes(d);
  VF acc[kRows][NV];
  for (int r = 0; r < kRows; ++r) {
    const VF a = hn::Set(d, alpha[r0 + r]);
    for (int x = 0; x < NV; ++x) acc[r][x] = hn::Mul(hn::LoadU(d, o + (r0 + r) * dp + d0 + x * N), a);
  }
  for (int64_t j = 0; j < nk; ++j) {
    VF vv[NV];
    for (int x = 0; x < NV; ++x) vv[x] = hn::LoadU(d, v + j * dp + d0 + x * N);
    for (int r = 0; r < kRows; ++r) {
      const VF pv = hn::Set(d, p[(r0 + r) * kFlashK + j]);
      for (int x = 0; x < NV; ++x) acc[r][x] = hn::MulAdd(pv, vv[x], acc[r][x]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int x = 0; x < NV; ++x) hn::StoreU(acc[r][x], d, o + (r0 + r) * dp + d0 + x * N);
}

void FlashF32(const FlashBlock& b) {
  const DF d;
  const int64_t N = int64_t(hn::Lanes(d));
  const int64_t step = kNK * N;  // keys per QK micro-kernel call
  const float* q = static_cast<const float*>(b.q);
  const float* kt = static_cast<const float*>(b.k);
  const float* v = static_cast<const float*>(b.v);
  float* p = static_cast<float*>(b.p);
  const VF scale = hn::Set(d, float(1.0 / std::sqrt(double(b.d))));
  const int64_t rows = (b.nq + kRows - 1) / kRows * kRows;
  const float ninf = -std::numeric_limits<float>::infinity();
  std::fill(b.o, b.o + kFlashQ * b.dp, 0.0f);
  std::fill(b.m, b.m + kFlashQ, ninf);
  std::fill(b.l, b.l + kFlashQ, 0.0f);
  for (int64_t k0 = 0; k0 < b.k_end; k0 += kFlashK) {
    const int64_t nk_valid = std::min(kFlashK, b.k_end - k0);
    const int64_t nk = (nk_valid + step - 1) / step * step;  // computed keys; padding is masked
    for (int64_t r0 = 0; r0 < rows; r0 += kRows)
      for (int64_t j = k0; j < k0 + nk; j += step) QK(q, b.dq, kt, b.lkp, j, b.s, r0, scale);
    // Padding keys and (causal) future keys get -inf.
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t valid =
          b.causal ? std::clamp<int64_t>(b.q0 + r + 1 - k0, 0, nk_valid) : nk_valid;
      std::fill(b.s + r * kFlashK + valid, b.s + r * kFlashK + nk, ninf);
    }
    // Online softmax: the new row maxima (into alpha for now), the rescale factors
    // e^(m_old - m_new) for what came before (0 for rows that saw no key yet), N rows at a time,
    // then the probabilities.
    for (int64_t r = 0; r < rows; ++r) {
      const float* srow = b.s + r * kFlashK;
      VF mx = hn::Set(d, b.m[r]);
      for (int64_t j = 0; j < nk; j += N) mx = hn::Max(mx, hn::LoadU(d, srow + j));
      b.alpha[r] = hn::GetLane(hn::MaxOfLanes(d, mx));
    }
    for (int64_t r = 0; r < rows; r += N) {
      const size_t cnt = size_t(std::min(N, rows - r));
      const VF mold = LoadTail(b.m + r, cnt), mnew = LoadTail(b.alpha + r, cnt);
      StoreTail(mnew, b.m + r, cnt);
      StoreTail(hn::IfThenZeroElse(hn::Eq(mold, hn::Set(d, ninf)), Exp(hn::Sub(mold, mnew))), b.alpha + r, cnt);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float* srow = b.s + r * kFlashK;
      const float mnew = b.m[r];
      const VF mv = hn::Set(d, mnew);
      VF sum = hn::Zero(d);
      for (int64_t j = 0; j < nk; j += N) {
        // A row with every key masked so far keeps mnew = -inf: its probabilities are 0.
        const VF e = mnew == ninf ? hn::Zero(d) : Exp(hn::Sub(hn::LoadU(d, srow + j), mv));
        sum = hn::Add(sum, e);
        hn::StoreU(e, d, p + r * kFlashK + j);
      }
      b.l[r] = b.l[r] * b.alpha[r] + hn::GetLane(hn::SumOfLanes(d, sum));
    }
    const float* vblk = v + k0 * b.dp;
    for (int64_t r0 = 0; r0 < rows; r0 += kRows)
      for (int64_t d0 = 0; d0 < b.dp;) {
        const int64_t left = (b.dp - d0) / N;
        if (left >= kNK) {
          PV<kNK>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += kNK * N;
        } else if (kNK > 3 && left == 3) {  // e.g. SD's 40-wide heads on AVX-512: one pass
          PV<3>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 3 * N;
        } else if (kNK > 2 && left >= 2) {
          PV<2>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 2 * N;
        } else {
          PV<1>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += N;
        }
      }
  }
  for (int64_t r = 0; r < b.nq; ++r) {
    const float inv = b.l[r] > 0 ? 1.0f / b.l[r] : 0.0f;
    for (int64_t e = 0; e < b.dp; ++e) b.o[r * b.dp + e] *= inv;
  }
}

extern const Kernels kKernels;
const Kernels kKernels = {hwy::TargetName(HWY_TARGET), UnaryKernel, BinaryKernel, ChannelMoments,
                          RowMoments,                  ScaleShift,  FlashF32,     nullptr};

}  // namespace HWY_NAMESPACE
}  // namespace sdfast::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/compiled_kernels.h"

namespace sdfast::simd {

const Kernels* compiled_kernels(int64_t target) {
  switch (target) {
#if HWY_TARGETS & HWY_AVX3
    case HWY_AVX3: return &N_AVX3::kKernels;
#endif
#if HWY_TARGETS & HWY_AVX2
    case HWY_AVX2: return &N_AVX2::kKernels;
#endif
#if HWY_TARGETS & HWY_NEON
    case HWY_NEON: return &N_NEON::kKernels;
#endif
    default: break;
  }
  return target == HWY_STATIC_TARGET ? &HWY_STATIC_DISPATCH(kKernels) : nullptr;
}

int64_t baseline_target() { return HWY_STATIC_TARGET; }

}  // namespace sdfast::simd
#endif  // HWY_ONCE
