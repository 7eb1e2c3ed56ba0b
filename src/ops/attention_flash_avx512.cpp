// Flash attention micro-kernels for AVX-512 (float32 FMA) and AVX512-BF16 (vdpbf16ps).
//
// Per task (batch b, head h, a range of query rows): K and V of that head are repacked once into the
// layouts the micro-kernels stream (zero-padded to multiples of 16), then query blocks of kBQ rows run
// against key blocks of kBK keys with an online softmax; the score matrix never exists beyond one
// kBQ x kBK tile. Scores, softmax statistics and the output accumulate in float32.
#include "ops/attention_flash_avx512.h"

#if defined(__AVX512F__)

#include "core/simd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"

namespace sdfast::ops::avx512 {

namespace {

constexpr int64_t kBQ = 64;   // query rows per block (multiple of 4)
constexpr int64_t kBK = 128;  // keys per block (multiple of 64)
constexpr int64_t kTaskRows = 256;

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

inline float to_f32(float v) { return v; }
inline float to_f32(bf16_t v) { return bf16_to_f32(v.bits); }
inline void from_f32(float* p, float v) { *p = v; }
inline void from_f32(bf16_t* p, float v) { p->bits = f32_to_bf16(v); }

// ---- float32 path ---------------------------------------------------------------------------
// Kt: [Dp][Lkp] (keys contiguous), V: [Lkp][Dp], Q block: [kBQ][Dp], S: [kBQ][kBK], O: [kBQ][Dp].

// S[r][j] for rows r0..r0+3 and keys j0..j0+63 (four 16-key vectors).
inline void qk_f32_4x64(const float* q, int64_t dp, const float* kt, int64_t lkp, int64_t j0,
                        float* s, int64_t r0, __m512 scale) {
  __m512 acc[4][4];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t d = 0; d < dp; ++d) {
    const float* krow = kt + d * lkp + j0;
    const __m512 k0 = _mm512_loadu_ps(krow), k1 = _mm512_loadu_ps(krow + 16),
                 k2 = _mm512_loadu_ps(krow + 32), k3 = _mm512_loadu_ps(krow + 48);
    for (int r = 0; r < 4; ++r) {
      const __m512 qv = _mm512_set1_ps(q[(r0 + r) * dp + d]);
      acc[r][0] = _mm512_fmadd_ps(qv, k0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(qv, k1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(qv, k2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(qv, k3, acc[r][3]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int v = 0; v < 4; ++v)
      _mm512_storeu_ps(s + (r0 + r) * kBK + (j0 % kBK) + 16 * v, _mm512_mul_ps(acc[r][v], scale));
}

// O[r][d0 .. d0+16*NV) = O*alpha[r] + sum_j P[r][j] V[j][..] for rows r0..r0+3.
template <int NV>
inline void pv_f32(const float* p, const float* v, int64_t dp, int64_t nk, int64_t d0, float* o,
                   const float* alpha, int64_t r0) {
  __m512 acc[4][NV];
  for (int r = 0; r < 4; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r0 + r]);
    for (int x = 0; x < NV; ++x) acc[r][x] = _mm512_mul_ps(_mm512_loadu_ps(o + (r0 + r) * dp + d0 + 16 * x), a);
  }
  for (int64_t j = 0; j < nk; ++j) {
    __m512 vv[NV];
    for (int x = 0; x < NV; ++x) vv[x] = _mm512_loadu_ps(v + j * dp + d0 + 16 * x);
    for (int r = 0; r < 4; ++r) {
      const __m512 pv = _mm512_set1_ps(p[(r0 + r) * kBK + j]);
      for (int x = 0; x < NV; ++x) acc[r][x] = _mm512_fmadd_ps(pv, vv[x], acc[r][x]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int x = 0; x < NV; ++x) _mm512_storeu_ps(o + (r0 + r) * dp + d0 + 16 * x, acc[r][x]);
}

// ---- bfloat16 path --------------------------------------------------------------------------
// Kp: [Dp/2][Lkp][2] (pairs of d for 16 keys per vector), Vp: [Lkp/2][Dp][2] (pairs of keys for 16
// d per vector), Q block: [kBQ][Dp] bf16, P: [kBQ][kBK] bf16.

inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }

inline void qk_bf16_4x64(const uint16_t* q, int64_t dp, const uint16_t* kp, int64_t lkp, int64_t j0,
                         float* s, int64_t r0, __m512 scale) {
  __m512 acc[4][4];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t d2 = 0; d2 < dp / 2; ++d2) {
    const uint16_t* krow = kp + (d2 * lkp + j0) * 2;
    const __m512i k0 = _mm512_loadu_si512(krow), k1 = _mm512_loadu_si512(krow + 32),
                  k2 = _mm512_loadu_si512(krow + 64), k3 = _mm512_loadu_si512(krow + 96);
    for (int r = 0; r < 4; ++r) {
      int32_t pair;
      std::memcpy(&pair, q + (r0 + r) * dp + 2 * d2, 4);
      const __m512bh qv = as_bh(_mm512_set1_epi32(pair));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], qv, as_bh(k0));
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], qv, as_bh(k1));
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], qv, as_bh(k2));
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], qv, as_bh(k3));
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int v = 0; v < 4; ++v)
      _mm512_storeu_ps(s + (r0 + r) * kBK + (j0 % kBK) + 16 * v, _mm512_mul_ps(acc[r][v], scale));
}

template <int NV>
inline void pv_bf16(const uint16_t* p, const uint16_t* vp, int64_t dp, int64_t nk, int64_t d0,
                    float* o, const float* alpha, int64_t r0) {
  __m512 acc[4][NV];
  for (int r = 0; r < 4; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r0 + r]);
    for (int x = 0; x < NV; ++x) acc[r][x] = _mm512_mul_ps(_mm512_loadu_ps(o + (r0 + r) * dp + d0 + 16 * x), a);
  }
  for (int64_t j2 = 0; j2 < nk / 2; ++j2) {
    // The four rows' probability pairs first, then one pass per V vector: each V vector is loaded
    // once and used four times (GCC otherwise reloads it for every row, which makes this loop
    // load-bound).
    __m512bh pv[4];
    for (int r = 0; r < 4; ++r) {
      int32_t pair;
      std::memcpy(&pair, p + (r0 + r) * kBK + 2 * j2, 4);
      pv[r] = as_bh(_mm512_set1_epi32(pair));
    }
    for (int x = 0; x < NV; ++x) {
      const __m512bh vx = as_bh(_mm512_loadu_si512(vp + (j2 * dp + d0 + 16 * x) * 2));
      for (int r = 0; r < 4; ++r) acc[r][x] = _mm512_dpbf16_ps(acc[r][x], pv[r], vx);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int x = 0; x < NV; ++x) _mm512_storeu_ps(o + (r0 + r) * dp + d0 + 16 * x, acc[r][x]);
}

// Runs pv<NV> over all d-vectors of the head in chunks of up to 4 vectors.
template <class Kernel>
inline void for_d_chunks(int64_t dp, Kernel&& k) {
  for (int64_t d0 = 0; d0 < dp;) {
    const int64_t left = (dp - d0) / 16;
    if (left >= 4) {
      k(std::integral_constant<int, 4>{}, d0);
      d0 += 64;
    } else if (left == 3) {
      k(std::integral_constant<int, 3>{}, d0);
      d0 += 48;
    } else if (left == 2) {
      k(std::integral_constant<int, 2>{}, d0);
      d0 += 32;
    } else {
      k(std::integral_constant<int, 1>{}, d0);
      d0 += 16;
    }
  }
}

// 2^x for the bf16 path, whose probabilities are rounded to bfloat16 (relative precision 2^-9)
// right after: range reduction to x = n + f, |f| <= 1/2, and a degree-5 polynomial for 2^f
// (relative error about 3e-6, far under the rounding that follows). -inf and anything below
// -126 give 0.
inline __m512 exp2_for_bf16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-127.0f));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(1.3333558e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504109e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Online-softmax update of one key block: S (scaled, masked, float) -> P (stored as TP), per-row
// max m, sum l and the rescale factor alpha for the previous output. The float32 path holds
// scores in natural-log units and uses the accurate exp; the bf16 path holds them in log2 units
// (log2(e) is folded into the scale) and uses exp2_for_bf16.
template <class TP>
void softmax_block(float* s, TP* p, int64_t rows, int64_t nk, float* m, float* l, float* alpha) {
  constexpr bool kBf16 = !std::is_same_v<TP, float>;
  for (int64_t r = 0; r < rows; ++r) {
    float* srow = s + r * kBK;
    __m512 mx = _mm512_set1_ps(m[r]);
    for (int64_t j = 0; j < nk; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(srow + j));
    const float mnew = simd::reduce_max(mx);
    const float mold = m[r];
    alpha[r] = mold == -std::numeric_limits<float>::infinity()
                   ? 0.0f
                   : (kBf16 ? std::exp2(mold - mnew) : std::exp(mold - mnew));
    const __m512 mv = _mm512_set1_ps(mnew);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; j += 16) {
      const __m512 x = _mm512_sub_ps(_mm512_loadu_ps(srow + j), mv);
      if constexpr (kBf16) {
        const __m512 e = exp2_for_bf16(x);
        sum = _mm512_add_ps(sum, e);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + r * kBK + j), (__m256i)_mm512_cvtneps_pbh(e));
      } else {
        const __m512 e = simd::exp(x);
        sum = _mm512_add_ps(sum, e);
        _mm512_storeu_ps(p + r * kBK + j, e);
      }
    }
    l[r] = l[r] * alpha[r] + simd::reduce_add(sum);
    m[r] = mnew;
  }
}

struct Shapes {
  int64_t b, lq, lk, h, d;
};

template <class T, bool kBf16>
void run(const T* q, const T* k, const T* v, T* out, const Shapes& s, bool causal) {
  using Elem = std::conditional_t<kBf16, uint16_t, float>;
  const int64_t hd = s.h * s.d;
  const int64_t dp = round_up(s.d, 16);  // V/O rows: whole 16-lane vectors
  const int64_t dq = round_up(s.d, 2);   // Q/K reduction length: whole bf16 pairs
  const int64_t lkp = round_up(s.lk, kBK);
  // bf16: scores in log2 units (see softmax_block).
  const double log2e = kBf16 ? 1.4426950408889634 : 1.0;
  const __m512 scale_v = _mm512_set1_ps(float(log2e / std::sqrt(double(s.d))));
  const int64_t chunks = (s.lq + kTaskRows - 1) / kTaskRows;
  const int64_t tasks = s.b * s.h * chunks;
  auto cvt = [](auto x) -> Elem {
    if constexpr (kBf16) {
      if constexpr (std::is_same_v<decltype(x), bf16_t>) return x.bits;
      else return f32_to_bf16(float(x));
    } else {
      return to_f32(x);
    }
  };
#pragma omp parallel
  {
    std::vector<Elem> kbuf(size_t(dq * lkp)), vbuf(size_t(dp * lkp)), qbuf(size_t(kBQ * dq));
    std::vector<float> sbuf(size_t(kBQ * kBK)), obuf(size_t(kBQ * dp));
    std::vector<Elem> pbuf(size_t(kBQ * kBK));
    std::vector<float> m(kBQ), l(kBQ), alpha(kBQ);
    int64_t packed_bh = -1;
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t bh = t / chunks, chunk = t % chunks;
      const int64_t b = bh / s.h, h = bh % s.h;
      const int64_t q_begin = chunk * kTaskRows, q_end = std::min(s.lq, q_begin + kTaskRows);
      const int64_t k_limit = causal ? std::min(s.lk, q_end) : s.lk;
      if (packed_bh != bh) {  // repack K and V of this (b, h), zero padded
        std::fill(kbuf.begin(), kbuf.end(), Elem{});
        std::fill(vbuf.begin(), vbuf.end(), Elem{});
        for (int64_t j = 0; j < s.lk; ++j) {
          const T* krow = k + (b * s.lk + j) * hd + h * s.d;
          const T* vrow = v + (b * s.lk + j) * hd + h * s.d;
          for (int64_t d = 0; d < s.d; ++d) {
            if constexpr (kBf16) {
              kbuf[size_t(((d / 2) * lkp + j) * 2 + d % 2)] = cvt(krow[d]);
              vbuf[size_t(((j / 2) * dp + d) * 2 + j % 2)] = cvt(vrow[d]);
            } else {
              kbuf[size_t(d * lkp + j)] = cvt(krow[d]);
              vbuf[size_t(j * dp + d)] = cvt(vrow[d]);
            }
          }
        }
        packed_bh = bh;
      }
      for (int64_t q0 = q_begin; q0 < q_end; q0 += kBQ) {
        const int64_t nq = std::min(kBQ, q_end - q0);
        std::fill(qbuf.begin(), qbuf.end(), Elem{});
        for (int64_t i = 0; i < nq; ++i)
          for (int64_t d = 0; d < s.d; ++d) qbuf[size_t(i * dq + d)] = cvt(q[(b * s.lq + q0 + i) * hd + h * s.d + d]);
        std::fill(obuf.begin(), obuf.end(), 0.0f);
        std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
        std::fill(l.begin(), l.end(), 0.0f);
        const int64_t k_end = causal ? std::min(k_limit, q0 + nq) : s.lk;
        for (int64_t k0 = 0; k0 < k_end; k0 += kBK) {
          const int64_t nk_valid = std::min(kBK, k_end - k0);
          const int64_t nk = round_up(nk_valid, 64);  // computed keys (padding is masked)
          const int64_t rows = round_up(nq, 4);
          for (int64_t r0 = 0; r0 < rows; r0 += 4)
            for (int64_t j = k0; j < k0 + nk; j += 64) {
              if constexpr (kBf16) {
                qk_bf16_4x64(qbuf.data(), dq, kbuf.data(), lkp, j, sbuf.data(), r0, scale_v);
              } else {
                qk_f32_4x64(qbuf.data(), dq, kbuf.data(), lkp, j, sbuf.data(), r0, scale_v);
              }
            }
          // Mask padding keys and (causal) future keys.
          if (causal || nk_valid < nk) {
            const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
            for (int64_t r = 0; r < rows; ++r) {
              float* srow = sbuf.data() + r * kBK;
              const int64_t valid = causal ? std::clamp<int64_t>(q0 + r + 1 - k0, 0, nk_valid) : nk_valid;
              for (int64_t j = valid / 16 * 16; j < nk; j += 16) {
                const int64_t keep = std::clamp<int64_t>(valid - j, 0, 16);
                const __mmask16 drop = __mmask16(~((1u << keep) - 1u));
                _mm512_mask_storeu_ps(srow + j, drop, ninf);
              }
            }
          }
          if constexpr (kBf16) {
            softmax_block(sbuf.data(), reinterpret_cast<bf16_t*>(pbuf.data()), rows, nk, m.data(), l.data(),
                          alpha.data());
          } else {
            softmax_block(sbuf.data(), pbuf.data(), rows, nk, m.data(), l.data(), alpha.data());
          }
          for (int64_t r0 = 0; r0 < rows; r0 += 4)
            for_d_chunks(dp, [&](auto nv, int64_t d0) {
              constexpr int NV = decltype(nv)::value;
              if constexpr (kBf16) {
                pv_bf16<NV>(pbuf.data(), vbuf.data() + k0 * dp, dp, nk, d0, obuf.data(), alpha.data(), r0);
              } else {
                pv_f32<NV>(pbuf.data(), vbuf.data() + k0 * dp, dp, nk, d0, obuf.data(), alpha.data(), r0);
              }
            });
        }
        for (int64_t i = 0; i < nq; ++i) {
          const float inv = 1.0f / l[size_t(i)];
          T* orow = out + (b * s.lq + q0 + i) * hd + h * s.d;
          for (int64_t d = 0; d < s.d; ++d) from_f32(&orow[d], obuf[size_t(i * dp + d)] * inv);
        }
      }
    }
  }
}

}  // namespace

bool flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, int heads,
                     bool causal) {
  const Shapes s{q.dim(0), q.dim(1), k.dim(1), heads, q.dim(2) / heads};
  if (q.dtype() != out.dtype()) return false;
  if (q.dtype() == DType::F32) {
    run<float, false>(q.data<float>(), k.data<float>(), v.data<float>(), out.data<float>(), s, causal);
    return true;
  }
#if defined(__AVX512BF16__)
  if (q.dtype() == DType::BF16) {
    run<bf16_t, true>(q.data<bf16_t>(), k.data<bf16_t>(), v.data<bf16_t>(), out.data<bf16_t>(), s, causal);
    return true;
  }
#endif
  return false;
}

}  // namespace sdfast::ops::avx512

#endif  // __AVX512F__
