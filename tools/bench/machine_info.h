// The machine a benchmark ran on, as the report states it: CPU model (lscpu's "Model name", from
// /proc/cpuinfo), logical CPUs, the instruction-set flags that decide the fast paths, memory, and
// the oneDNN library's version and the ISA its JIT kernels use.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdfast::bench {

// The /proc/cpuinfo flags the report names, in this order (present or not).
const std::vector<std::string>& relevant_isa_flags();

struct CpuInfo {
  std::string model;               // "model name" of the first processor
  int logical_cpus = 0;            // "processor" entries
  std::vector<std::string> flags;  // "flags" of the first processor
  bool has_flag(const std::string& flag) const;
};

// Parses /proc/cpuinfo text (x86 layout: "key<tabs>: value" lines, a blank line between CPUs).
CpuInfo parse_cpuinfo(const std::string& text);

struct MachineInfo {
  CpuInfo cpu;
  int cpus_allowed = 0;  // CPUs this process may run on (sched_getaffinity)
  int threads = 0;       // threads the engine uses (the benchmark's --threads, 0: OpenMP default)
  double memory_total_mb = 0;
  std::string kernel;          // uname -r
  std::string onednn_version;  // "2.6.3"
  std::string onednn_cpu_isa;  // dnnl_get_effective_cpu_isa, e.g. "avx512_core_bf16"
  std::string compiler;
  // The kernel variant (simd/dispatch.h): chosen, the best this CPU runs, the Highway target of
  // its table, why a request was capped, and whether bf16 matrix products run natively.
  std::string kernel_variant, kernel_variant_best, kernel_target, kernel_note;
  std::vector<std::string> kernel_variants_available;
  std::string cpu_features;  // as detected by cpuid (simd::CpuFeatures::flag_list)
  bool bf16_native = false;
  // Environment variables that change how fast the engine runs (OpenMP, oneDNN), where set.
  std::vector<std::pair<std::string, std::string>> environment;

  nlohmann::json to_json() const;
  // "AMD EPYC, 2 logical CPUs (2 threads used); avx512f yes, avx512_bf16 yes, amx_bf16 no ...".
  std::string summary() const;
  // Several "Key: value" lines, for `sdfast info`.
  std::string report() const;
};

// Reads the running machine. `threads`: what the measurements are told to use (0: all cores).
MachineInfo read_machine_info(int threads);

}  // namespace sdfast::bench
