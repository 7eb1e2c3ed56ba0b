#include "simd/dispatch.h"

#include <hwy/targets.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "simd/compiled_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sdfast::simd {

namespace {

struct IsaName {
  Isa isa;
  const char* name;
};
constexpr IsaName kIsas[] = {
    {Isa::Generic, "generic"},          {Isa::Avx2, "avx2"}, {Isa::Avx512, "avx512"},
    {Isa::Avx512Bf16, "avx512_bf16"}, {Isa::Amx, "amx"},
};

#if defined(__x86_64__) || defined(__i386__)
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}
#endif

}  // namespace

const char* isa_name(Isa isa) {
  for (const auto& e : kIsas)
    if (e.isa == isa) return e.name;
  return "?";
}

std::optional<Isa> isa_from_name(std::string_view name) {
  for (const auto& e : kIsas)
    if (name == e.name) return e.isa;
  return std::nullopt;
}

std::string isa_names() {
  std::string s;
  for (const auto& e : kIsas) s += std::string(s.empty() ? "" : "|") + e.name;
  return s;
}

std::string CpuFeatures::flag_list() const {
  const std::pair<bool, const char*> flags[] = {
      {avx2, "avx2"},           {fma, "fma"},           {f16c, "f16c"},         {avx512f, "avx512f"},
      {avx512bw, "avx512bw"},   {avx512dq, "avx512dq"}, {avx512vl, "avx512vl"}, {avx512_vnni, "avx512_vnni"},
      {avx512_bf16, "avx512_bf16"}, {amx_tile, "amx_tile"}, {amx_bf16, "amx_bf16"}};
  std::string s;
  for (const auto& [on, name] : flags)
    if (on) s += std::string(s.empty() ? "" : " ") + name;
  return s.empty() ? "none" : s;
}

CpuFeatures detect_cpu() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    f.vendor = vendor;
  }
  const unsigned max_leaf = a;
  unsigned ext = 0;
  if (__get_cpuid(0x80000000u, &ext, &b, &c, &d) && ext >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4];
      __get_cpuid(0x80000002u + i, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(brand + 16 * i, r, 16);
    }
    f.brand = brand;
    const size_t s = f.brand.find_first_not_of(' '), e = f.brand.find_last_not_of(' ');
    f.brand = s == std::string::npos ? "" : f.brand.substr(s, e - s + 1);
  }
  bool osxsave = false;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    f.fma = (c >> 12) & 1;
    f.f16c = (c >> 29) & 1;
    osxsave = (c >> 27) & 1;
  }
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    f.os_avx = (xcr0 & 0x6) == 0x6;                 // SSE and AVX state
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
    f.os_amx = (xcr0 & 0x60000) == 0x60000;          // XTILECFG, XTILEDATA
  }
  if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512_vnni = (c >> 11) & 1;
    f.amx_bf16 = (d >> 22) & 1;
    f.amx_tile = (d >> 24) & 1;
    const unsigned sub_leaves = a;
    if (sub_leaves >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = (a >> 5) & 1;
  }
#endif
  return f;
}

Isa best_isa(const CpuFeatures& f) {
  // What Highway's own run-time check agrees the CPU and OS support (it reads the same cpuid
  // and XCR0 bits), so a table is never chosen that its target cannot run.
  const int64_t hwy_ok = hwy::SupportedTargets();
  const bool avx2 = f.avx2 && f.fma && f.f16c && f.os_avx && (hwy_ok & HWY_AVX2) && compiled_kernels(HWY_AVX2);
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.os_avx512 &&
                      (hwy_ok & HWY_AVX3) && compiled_kernels(HWY_AVX3);
  const bool bf16 = avx512 && f.avx512_bf16 && flash_bf16_avx512 != nullptr;
  const bool amx = bf16 && f.amx_tile && f.amx_bf16 && f.os_amx;
  return amx ? Isa::Amx : bf16 ? Isa::Avx512Bf16 : avx512 ? Isa::Avx512 : avx2 ? Isa::Avx2 : Isa::Generic;
}

std::vector<Isa> variants_up_to(Isa best) {
  std::vector<Isa> out;
  for (const auto& e : kIsas)
    if (e.isa <= best) out.push_back(e.isa);
  return out;
}

const Kernels& kernels_for(Isa isa) {
  static const Kernels generic = *compiled_kernels(baseline_target());
  static const Kernels avx2 = compiled_kernels(HWY_AVX2) ? *compiled_kernels(HWY_AVX2) : generic;
  static const Kernels avx512 = compiled_kernels(HWY_AVX3) ? *compiled_kernels(HWY_AVX3) : avx2;
  static const Kernels avx512_bf16 = [] {
    Kernels k = avx512;
    k.flash_bf16 = flash_bf16_avx512;
    return k;
  }();
  switch (isa) {
    case Isa::Generic: return generic;
    case Isa::Avx2: return avx2;
    case Isa::Avx512: return avx512;
    case Isa::Avx512Bf16:
    case Isa::Amx: return avx512_bf16;  // AMX tiles are used by oneDNN's GEMMs and convolutions
  }
  return generic;
}

Dispatch make_dispatch(const CpuFeatures& cpu, std::string_view request) {
  Dispatch d;
  d.cpu = cpu;
  d.best = best_isa(cpu);
  d.chosen = d.best;
  d.request = std::string(request);
  if (!request.empty()) {
    const std::optional<Isa> want = isa_from_name(request);
    if (!want)
      throw std::invalid_argument("SDFAST_ISA=" + std::string(request) + " names no kernel variant; expected one of " +
                                  isa_names());
    if (*want > d.best) {
      d.note = "SDFAST_ISA=" + std::string(request) + " capped at " + isa_name(d.best) +
               ", the best this CPU supports (" + cpu.flag_list() + ")";
    } else {
      d.chosen = *want;
    }
  }
  d.kernels = &kernels_for(d.chosen);
  return d;
}

const Dispatch& dispatch() {
  static const Dispatch d = [] {
    const char* env = std::getenv("SDFAST_ISA");
    return make_dispatch(detect_cpu(), env ? env : "");
  }();
  return d;
}

}  // namespace sdfast::simd
