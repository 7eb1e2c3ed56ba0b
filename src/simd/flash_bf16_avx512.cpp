// Flash attention on bfloat16 inputs with AVX512-BF16's vdpbf16ps (two bf16 products per float32
// lane and instruction), for the Cooper Lake / Sapphire Rapids / Zen 4+ variants. Highway 1.0
// (Debian 12) has no bf16 dot product, so this one kernel is written with intrinsics; it is compiled
// for AVX512-BF16 by the target pragma below (the rest of the build stays portable) and only ever
// called through the dispatch table of a CPU that has the instructions.
//
// Everything compiled for AVX-512 here has internal linkage, so no inline function the linker could
// pick for other files carries AVX-512 code. Layouts: simd/kernels.h (FlashBlock).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "simd/compiled_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")
#endif

namespace sdfast::simd {
namespace {

inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }

// S[r][j0 .. j0+64) for rows r0 .. r0+3 (four 16-key vectors), scaled.
// always_inline: GCC otherwise keeps the micro-kernels out of line (8 % slower at SD's 4096 tokens).
__attribute__((always_inline)) inline void qk_4x64(const uint16_t* q, int64_t dq, const uint16_t* kp,
                                                   int64_t lkp, int64_t j0, float* s, int64_t r0,
                                                   __m512 scale) {
  __m512 acc[4][4];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int64_t d2 = 0; d2 < dq / 2; ++d2) {
    const uint16_t* krow = kp + (d2 * lkp + j0) * 2;
    const __m512i k0 = _mm512_loadu_si512(krow), k1 = _mm512_loadu_si512(krow + 32),
                  k2 = _mm512_loadu_si512(krow + 64), k3 = _mm512_loadu_si512(krow + 96);
    for (int r = 0; r < 4; ++r) {
      int32_t pair;
      std::memcpy(&pair, q + (r0 + r) * dq + 2 * d2, 4);
      const __m512bh qv = as_bh(_mm512_set1_epi32(pair));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], qv, as_bh(k0));
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], qv, as_bh(k1));
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], qv, as_bh(k2));
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], qv, as_bh(k3));
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int v = 0; v < 4; ++v)
      _mm512_storeu_ps(s + (r0 + r) * kFlashK + (j0 % kFlashK) + 16 * v, _mm512_mul_ps(acc[r][v], scale));
}

// O[r][d0 .. d0 + 16 NV) = O alpha[r] + sum_j P[r][j] V[j][..] for rows r0 .. r0+3.
template <int NV>
__attribute__((always_inline)) inline void pv(const uint16_t* p, const uint16_t* vp, int64_t dp, int64_t nk,
                                              int64_t d0, float* o, const float* alpha, int64_t r0) {
  __m512 acc[4][NV];
  for (int r = 0; r < 4; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r0 + r]);
    for (int x = 0; x < NV; ++x) acc[r][x] = _mm512_mul_ps(_mm512_loadu_ps(o + (r0 + r) * dp + d0 + 16 * x), a);
  }
  for (int64_t j2 = 0; j2 < nk / 2; ++j2) {
    // The four rows' probability pairs first, then one pass per V vector: each V vector is loaded
    // once and used four times (GCC otherwise reloads it for every row).
    __m512bh pr[4];
    for (int r = 0; r < 4; ++r) {
      int32_t pair;
      std::memcpy(&pair, p + (r0 + r) * kFlashK + 2 * j2, 4);
      pr[r] = as_bh(_mm512_set1_epi32(pair));
    }
    for (int x = 0; x < NV; ++x) {
      const __m512bh vx = as_bh(_mm512_loadu_si512(vp + (j2 * dp + d0 + 16 * x) * 2));
      for (int r = 0; r < 4; ++r) acc[r][x] = _mm512_dpbf16_ps(acc[r][x], pr[r], vx);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int x = 0; x < NV; ++x) _mm512_storeu_ps(o + (r0 + r) * dp + d0 + 16 * x, acc[r][x]);
}

// 2^x; the probabilities are rounded to bfloat16 (relative precision 2^-9) right after: x = n + f,
// |f| <= 1/2, degree-5 polynomial (relative error ~3e-6); 0 below -126.
inline __m512 exp2_coarse(__m512 x) {
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

// Scores are held in log2 units (log2(e) folded into the scale) so the softmax needs only 2^x.
void flash_bf16(const FlashBlock& b) {
  const auto* q = static_cast<const uint16_t*>(b.q);
  const auto* kp = static_cast<const uint16_t*>(b.k);
  const auto* vp = static_cast<const uint16_t*>(b.v);
  auto* p = static_cast<uint16_t*>(b.p);
  const float ninf = -std::numeric_limits<float>::infinity();
  const __m512 scale = _mm512_set1_ps(float(1.4426950408889634 / std::sqrt(double(b.d))));
  const int64_t rows = (b.nq + 3) / 4 * 4;
  std::fill(b.o, b.o + kFlashQ * b.dp, 0.0f);
  std::fill(b.m, b.m + kFlashQ, ninf);
  std::fill(b.l, b.l + kFlashQ, 0.0f);
  for (int64_t k0 = 0; k0 < b.k_end; k0 += kFlashK) {
    const int64_t nk_valid = std::min(kFlashK, b.k_end - k0);
    const int64_t nk = (nk_valid + 63) / 64 * 64;
    for (int64_t r0 = 0; r0 < rows; r0 += 4)
      for (int64_t j = k0; j < k0 + nk; j += 64) qk_4x64(q, b.dq, kp, b.lkp, j, b.s, r0, scale);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t valid = b.causal ? std::clamp<int64_t>(b.q0 + r + 1 - k0, 0, nk_valid) : nk_valid;
      std::fill(b.s + r * kFlashK + valid, b.s + r * kFlashK + nk, ninf);
    }
    // Row maxima (into alpha for now), then the rescale factors 2^(m_old - m_new) 16 rows at a
    // time (0 for rows that saw no key yet), then the probabilities.
    for (int64_t r = 0; r < rows; ++r) {
      const float* srow = b.s + r * kFlashK;
      __m512 mx = _mm512_set1_ps(b.m[r]);
      for (int64_t j = 0; j < nk; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(srow + j));
      b.alpha[r] = _mm512_reduce_max_ps(mx);
    }
    for (int64_t r = 0; r < rows; r += 16) {
      const __mmask16 lanes = rows - r >= 16 ? __mmask16(0xffff) : __mmask16((1u << (rows - r)) - 1u);
      const __m512 mold = _mm512_maskz_loadu_ps(lanes, b.m + r), mnew = _mm512_maskz_loadu_ps(lanes, b.alpha + r);
      const __mmask16 seen = _mm512_cmp_ps_mask(mold, _mm512_set1_ps(ninf), _CMP_NEQ_OQ);
      _mm512_mask_storeu_ps(b.m + r, lanes, mnew);
      _mm512_mask_storeu_ps(b.alpha + r, lanes, _mm512_maskz_mov_ps(seen, exp2_coarse(_mm512_sub_ps(mold, mnew))));
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float* srow = b.s + r * kFlashK;
      const float mnew = b.m[r];
      const __m512 mv = _mm512_set1_ps(mnew);
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = 0; j < nk; j += 16) {
        const __m512 e = mnew == ninf ? _mm512_setzero_ps() : exp2_coarse(_mm512_sub_ps(_mm512_loadu_ps(srow + j), mv));
        sum = _mm512_add_ps(sum, e);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + r * kFlashK + j), (__m256i)_mm512_cvtneps_pbh(e));
      }
      b.l[r] = b.l[r] * b.alpha[r] + _mm512_reduce_add_ps(sum);
    }
    const uint16_t* vblk = vp + k0 * b.dp;
    for (int64_t r0 = 0; r0 < rows; r0 += 4)
      for (int64_t d0 = 0; d0 < b.dp;) {
        const int64_t left = (b.dp - d0) / 16;
        if (left >= 4) {
          pv<4>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 64;
        } else if (left == 3) {  // e.g. SD's 40-wide heads, padded to 48: one pass, not two
          pv<3>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 48;
        } else if (left == 2) {
          pv<2>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 32;
        } else {
          pv<1>(p, vblk, b.dp, nk, d0, b.o, b.alpha, r0);
          d0 += 16;
        }
      }
  }
  for (int64_t r = 0; r < b.nq; ++r) {
    const float inv = b.l[r] > 0 ? 1.0f / b.l[r] : 0.0f;
    for (int64_t e = 0; e < b.dp; ++e) b.o[r * b.dp + e] *= inv;
  }
}

}  // namespace
}  // namespace sdfast::simd

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace sdfast::simd {
void (*const flash_bf16_avx512)(const FlashBlock&) = flash_bf16;
}  // namespace sdfast::simd

#else  // not x86-64 GCC/clang

namespace sdfast::simd {
void (*const flash_bf16_avx512)(const FlashBlock&) = nullptr;
}  // namespace sdfast::simd

#endif
