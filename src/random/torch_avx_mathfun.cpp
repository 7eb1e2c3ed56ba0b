#include "random/torch_avx_mathfun.h"

#include <cmath>
#include <cstdint>
#include <cstring>

// Bit-exact reproduction: the compiler must not fuse a*b+c on its own; the steps torch's build
// fuses are spelled out with madd().
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace sdfast::torch_avx {

namespace {

// The constants are float vectors initialised from double literals: round double -> float.
constexpr float f(double v) { return static_cast<float>(v); }

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// a*b + c rounded once. torch's x86-64 builds compile this file's intrinsics with GCC and -mfma,
// and GCC contracts each _mm256_mul_ps whose only use is an _mm256_add_ps / _mm256_sub_ps into
// one vfmadd: exactly the pairs written with madd() below (a product feeding another product
// stays separate). Verified bit-exact against torch 1.13 on the golden cases.
float madd(float a, float b, float c) { return std::fma(a, b, c); }

}  // namespace

float log(float x) {
  const bool invalid = x <= 0.0f;
  x = x > from_bits(0x00800000u) ? x : from_bits(0x00800000u);  // max with the smallest normal
  int32_t e_int = int32_t(bits(x) >> 23);
  x = from_bits((bits(x) & ~0x7f800000u) | bits(0.5f));  // mantissa in [0.5, 1)
  e_int -= 0x7f;
  float e = float(e_int);
  e = e + 1.0f;
  const bool small = x < f(0.707106781186547524);
  const float tmp = small ? x : 0.0f;
  x = x - 1.0f;
  e = e - (small ? 1.0f : 0.0f);
  x = x + tmp;
  const float z = x * x;
  float y = f(7.0376836292E-2);
  y = madd(y, x, f(-1.1514610310E-1));
  y = madd(y, x, f(1.1676998740E-1));
  y = madd(y, x, f(-1.2420140846E-1));
  y = madd(y, x, f(+1.4249322787E-1));
  y = madd(y, x, f(-1.6668057665E-1));
  y = madd(y, x, f(+2.0000714765E-1));
  y = madd(y, x, f(-2.4999993993E-1));
  y = madd(y, x, f(+3.3333331174E-1));
  y = y * x;
  y = madd(y, z, e * f(-2.12194440e-4));
  y = y - z * 0.5f;  // exact product: fused or not, the same
  x = madd(e, f(0.693359375), x + y);
  return invalid ? from_bits(bits(x) | 0xffffffffu) : x;
}

void sincos(float x, float* sin_out, float* cos_out) {
  uint32_t sign_bit_sin = bits(x) & 0x80000000u;
  x = from_bits(bits(x) & 0x7fffffffu);
  float y = x * f(1.27323954473516);  // 4 / pi
  int32_t j = int32_t(y);             // truncation, as _mm256_cvttps_epi32 (x is far below 2^31)
  j = (j + 1) & ~1;
  y = float(j);
  const uint32_t swap_sign_bit_sin = uint32_t(j & 4) << 29;
  const bool poly_sin = (j & 2) == 0;  // select the sine polynomial for the sine
  x = madd(y, f(-0.78515625), x);
  x = madd(y, f(-2.4187564849853515625e-4), x);
  x = madd(y, f(-3.77489497744594108e-8), x);
  const uint32_t sign_bit_cos = uint32_t(~(j - 2) & 4) << 29;
  sign_bit_sin ^= swap_sign_bit_sin;

  const float z = x * x;
  float yc = madd(f(2.443315711809948E-005), z, f(-1.388731625493765E-003));
  yc = madd(yc, z, f(4.166664568298827E-002));
  yc = yc * z;
  yc = madd(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;

  float ys = madd(f(-1.9515295891E-4), z, f(8.3321608736E-3));
  ys = madd(ys, z, f(-1.6666654611E-1));
  ys = ys * z;
  ys = madd(ys, x, x);

  const float ysin2 = poly_sin ? ys : 0.0f;
  const float ysin1 = poly_sin ? 0.0f : yc;
  ys = ys - ysin2;
  yc = yc - ysin1;
  const float s = ysin1 + ysin2;
  const float c = yc + ys;
  *sin_out = from_bits(bits(s) ^ sign_bit_sin);
  *cos_out = from_bits(bits(c) ^ sign_bit_cos);
}

}  // namespace sdfast::torch_avx
