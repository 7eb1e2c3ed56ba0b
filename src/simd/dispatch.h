// Which kernel variant runs: the CPU's features (cpuid, and the OS's saved register state), the
// variants sdfast has, and the one chosen for this process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simd/kernels.h"

namespace sdfast::simd {

// Kernel variants, each implying the ones before it.
enum class Isa : uint8_t {
  Generic,     // no vector extension assumed (Highway's baseline target for the build)
  Avx2,        // AVX2 + FMA + F16C (Haswell, Zen 1-3)
  Avx512,      // AVX-512 F/BW/DQ/VL (Skylake-SP)
  Avx512Bf16,  // + AVX512-BF16 dot products (Cooper Lake, Sapphire Rapids, Zen 4/5)
  Amx,         // + AMX tiles (Sapphire Rapids); used by oneDNN's GEMMs and convolutions
};
const char* isa_name(Isa isa);                         // "generic", "avx2", ...
std::optional<Isa> isa_from_name(std::string_view name);
std::string isa_names();                               // "generic|avx2|avx512|avx512_bf16|amx"
// Whether matrix products in bfloat16 run natively (vdpbf16ps or AMX) at this variant.
inline bool native_bf16(Isa isa) { return isa >= Isa::Avx512Bf16; }

struct CpuFeatures {
  std::string vendor, brand;
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_vnni = false, avx512_bf16 = false;
  bool amx_tile = false, amx_bf16 = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;  // XCR0: the OS saves those registers
  std::string flag_list() const;  // the detected features, space separated
};
CpuFeatures detect_cpu();
Isa best_isa(const CpuFeatures& cpu);

// Every variant up to `best`, in order (what tests and benchmarks on this CPU can run).
std::vector<Isa> variants_up_to(Isa best);

// The kernel table for a variant: the best compiled Highway target not above it.
const Kernels& kernels_for(Isa isa);

struct Dispatch {
  CpuFeatures cpu;
  Isa best = Isa::Generic;    // the best variant this CPU and OS support
  Isa chosen = Isa::Generic;  // `best`, or the requested variant capped at `best`
  std::string request;        // what was asked for (SDFAST_ISA), empty when nothing was
  std::string note;           // why the request was capped, empty otherwise
  const Kernels* kernels = nullptr;
};
// The choice for `request` (a variant name, empty: the best) on `cpu`; fails naming the variants
// when `request` names none.
Dispatch make_dispatch(const CpuFeatures& cpu, std::string_view request);
// This process's choice, made once on first use from the CPU and the SDFAST_ISA environment
// variable.
const Dispatch& dispatch();

}  // namespace sdfast::simd
