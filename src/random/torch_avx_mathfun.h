// One lane of the AVX2 log / sincos that torch's CPU normal_ kernel uses for float tensors.
//
// Reference: pytorch aten/src/ATen/native/cpu/avx_mathfun.h (log256_ps, sincos256_ps: cephes
// polynomials by J. Pommier / G. Garberoglio), called from normal_fill_16_AVX2 in
// aten/src/ATen/native/cpu/DistributionTemplates.h. Every lane of the vector code computes the
// same float operations in the same order (including the multiply-adds that torch's GCC build
// fuses into FMA), so evaluating them one float at a time reproduces the vector results bit for
// bit. These are not the libm functions and differ from them in the last bits.
#pragma once

namespace sdfast::torch_avx {

// log256_ps for one lane: natural log, NaN for x <= 0.
float log(float x);
// sincos256_ps for one lane.
void sincos(float x, float* sin_out, float* cos_out);

}  // namespace sdfast::torch_avx
