// Element types: what safetensors files hold and what the kernels compute in.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sdfast {

enum class DType : uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

size_t dtype_size(DType t);
// The safetensors spelling: "F32", "BF16", ...
const char* dtype_name(DType t);
// Parses a safetensors dtype string; nullopt for anything not in the set above.
std::optional<DType> dtype_from_name(std::string_view name);
bool dtype_is_float(DType t);

// IEEE half <-> float (round to nearest even).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// bfloat16 <-> float (round to nearest even; NaN stays NaN).
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Converts n elements of `src` (type `from`) to float32 in `dst`. Source may be unaligned.
void convert_to_f32(const void* src, DType from, float* dst, size_t n);
// Converts n float32 elements to `to` (F32, F16, BF16, F64).
void convert_from_f32(const float* src, void* dst, DType to, size_t n);

}  // namespace sdfast
