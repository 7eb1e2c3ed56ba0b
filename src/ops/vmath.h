// One spelling of element-wise math for scalars and AVX-512 vectors, so a kernel's formula is
// written once as a generic lambda (`[](auto v) { return mul(v, sigmoid(v)); }`) and runs on
// 16 lanes where AVX-512 is available and on scalars in the tail or elsewhere.
#pragma once

#include <cmath>

#include "core/simd.h"

namespace sdfast::ops::vm {

inline float add(float a, float b) { return a + b; }
inline float sub(float a, float b) { return a - b; }
inline float mul(float a, float b) { return a * b; }
inline float max(float a, float b) { return a > b ? a : b; }
inline float splat(float, float v) { return v; }
inline float exp(float x) { return std::exp(x); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
inline float tanh(float x) { return std::tanh(x); }

#if defined(__AVX512F__)
inline __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m512 sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
inline __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
inline __m512 max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
inline __m512 add(__m512 a, float b) { return _mm512_add_ps(a, _mm512_set1_ps(b)); }
inline __m512 mul(__m512 a, float b) { return _mm512_mul_ps(a, _mm512_set1_ps(b)); }
inline __m512 max(__m512 a, float b) { return _mm512_max_ps(a, _mm512_set1_ps(b)); }
inline __m512 splat(__m512, float v) { return _mm512_set1_ps(v); }
inline __m512 exp(__m512 x) { return simd::exp(x); }
inline __m512 sigmoid(__m512 x) { return simd::sigmoid(x); }
inline __m512 gelu(__m512 x) { return simd::gelu(x); }
// tanh(x) = 1 - 2 / (e^{2x} + 1), exact at the saturation ends.
inline __m512 tanh(__m512 x) {
  const __m512 e = simd::exp(_mm512_add_ps(x, x));
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
}
#endif

}  // namespace sdfast::ops::vm
