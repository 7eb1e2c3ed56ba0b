#include "core/dtype.h"

#include "core/error.h"
#include "simd/dispatch.h"

namespace sdfast {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::Bool: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F64: return "F64";
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  static constexpr DType kAll[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                                   DType::I32, DType::I16, DType::I8,  DType::U8,   DType::Bool};
  for (DType t : kAll)
    if (name == dtype_name(t)) return t;
  return std::nullopt;
}

bool dtype_is_float(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      u = sign | (uint32_t(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // overflow to inf (incl. rounding)
  if (abs < 0x38800000u) {                                  // subnormal or zero in half
    if (abs < 0x33000000u) return uint16_t(sign);           // rounds to zero
    uint32_t e = abs >> 23;
    uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // value = m * 2^(e-150) = (m >> shift) * 2^-24, shift in [14, 24]
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  uint32_t r = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return uint16_t(sign | r);
}

namespace {
template <class T>
T load_unaligned(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
}  // namespace

void convert_to_f32(const void* src_v, DType from, float* dst, size_t n) {
  const auto* src = static_cast<const unsigned char*>(src_v);
  switch (from) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_unaligned<uint16_t>(src + 2 * i));
      return;
    case DType::BF16:
      simd::dispatch().kernels->unary(simd::Unary::Copy, 0.0f, src, simd::Elem::BF16, dst, simd::Elem::F32,
                                      int64_t(n));
      return;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) dst[i] = float(load_unaligned<double>(src + 8 * i));
      return;
    case DType::I64:
      for (size_t i = 0; i < n; ++i) dst[i] = float(load_unaligned<int64_t>(src + 8 * i));
      return;
    case DType::I32:
      for (size_t i = 0; i < n; ++i) dst[i] = float(load_unaligned<int32_t>(src + 4 * i));
      return;
    case DType::I16:
      for (size_t i = 0; i < n; ++i) dst[i] = float(load_unaligned<int16_t>(src + 2 * i));
      return;
    case DType::I8:
      for (size_t i = 0; i < n; ++i) dst[i] = float(int8_t(src[i]));
      return;
    case DType::U8:
    case DType::Bool:
      for (size_t i = 0; i < n; ++i) dst[i] = float(src[i]);
      return;
  }
}

void convert_from_f32(const float* src, void* dst_v, DType to, size_t n) {
  auto* dst = static_cast<unsigned char*>(dst_v);
  switch (to) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::BF16:
      simd::dispatch().kernels->unary(simd::Unary::Copy, 0.0f, src, simd::Elem::F32, dst, simd::Elem::BF16,
                                      int64_t(n));
      return;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d = src[i];
        std::memcpy(dst + 8 * i, &d, 8);
      }
      return;
    default: fail("convert_from_f32: cannot convert to ", dtype_name(to));
  }
}

}  // namespace sdfast
