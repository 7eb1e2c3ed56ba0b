// Element access for the kernels written here: float32 or bfloat16 storage, float32 arithmetic.
#pragma once

#include "core/error.h"
#include "core/tensor.h"
#include "simd/kernels.h"

namespace sdfast::ops {

inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const bf16_t* p, int64_t i) { return bf16_to_f32(p[i].bits); }
inline void store(float* p, int64_t i, float v) { p[i] = v; }
inline void store(bf16_t* p, int64_t i, float v) { p[i].bits = f32_to_bf16(v); }

// The kernels' element type for an F32 or BF16 tensor.
inline simd::Elem elem_of(DType t) {
  if (t == DType::F32) return simd::Elem::F32;
  if (t == DType::BF16) return simd::Elem::BF16;
  fail("kernel supports F32 and BF16 activations, got ", dtype_name(t));
}

// An F32/BF16 tensor's buffer as the simd kernels take it: element i's address and the type.
template <class Byte>
struct KernelElems {
  Byte* base;
  size_t size;  // bytes per element
  simd::Elem elem;
  Byte* at(int64_t i) const { return base + size_t(i) * size; }
};
inline KernelElems<const unsigned char> kernel_elems(const Tensor& t) {
  return {static_cast<const unsigned char*>(t.raw_data()), dtype_size(t.dtype()), elem_of(t.dtype())};
}
inline KernelElems<unsigned char> kernel_elems(Tensor& t) {
  return {static_cast<unsigned char*>(t.raw_data()), dtype_size(t.dtype()), elem_of(t.dtype())};
}

// Calls f(T{}) with T = float or bf16_t for the activation dtype `t`.
template <class F>
decltype(auto) dispatch_float(DType t, F&& f) {
  if (t == DType::F32) return f(float{});
  if (t == DType::BF16) return f(bf16_t{});
  fail("kernel supports F32 and BF16 activations, got ", dtype_name(t));
}

// Calls f(A{}, B{}) for two activation dtypes (e.g. an op's input and output), each float or bf16_t.
template <class F>
decltype(auto) dispatch_float2(DType a, DType b, F&& f) {
  return dispatch_float(a, [&](auto ta) { return dispatch_float(b, [&](auto tb) { return f(ta, tb); }); });
}

// Checks that `x` has `n` dims and the given last dimension (-1: any).
inline void check_rank(const Tensor& x, int n, const char* what) {
  SDFAST_CHECK(x.ndim() == n, what, ": expected a ", n, "-d tensor, got ", x.describe());
}

}  // namespace sdfast::ops
