#include "bench/machine_info.h"

#include "ops/dnnl_util.h"

#include <omp.h>
#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <dnnl.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"
#include "sdfast/system.h"
#include "simd/dispatch.h"

namespace sdfast::bench {

const std::vector<std::string>& relevant_isa_flags() {
  static const std::vector<std::string> flags = {
      "avx2",        "fma",         "avx512f",  "avx512bw", "avx512_vnni",
      "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"};
  return flags;
}

bool CpuInfo::has_flag(const std::string& flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string read_file_or_empty(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}


}  // namespace

CpuInfo parse_cpuinfo(const std::string& text) {
  CpuInfo info;
  std::istringstream in(text);
  std::string line;
  bool first_cpu_done = false;
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      if (info.logical_cpus > 0) first_cpu_done = true;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "processor") ++info.logical_cpus;
    if (first_cpu_done) continue;
    if (key == "model name" && info.model.empty()) info.model = value;
    if (key == "flags" && info.flags.empty()) {
      std::istringstream fs(value);
      for (std::string f; fs >> f;) info.flags.push_back(f);
    }
  }
  return info;
}

MachineInfo read_machine_info(int threads) {
  MachineInfo m;
  m.cpu = parse_cpuinfo(read_file_or_empty("/proc/cpuinfo"));
  if (m.cpu.model.empty()) m.cpu.model = "unknown";
  cpu_set_t set;
  CPU_ZERO(&set);
  m.cpus_allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  m.threads = threads > 0 ? threads : omp_get_max_threads();
  std::istringstream mem(read_file_or_empty("/proc/meminfo"));
  for (std::string key; mem >> key;) {
    if (key == "MemTotal:") {
      double kb = 0;
      mem >> kb;
      m.memory_total_mb = kb / 1024.0;
      break;
    }
    mem.ignore(1 << 10, '\n');
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = u.release;
  const dnnl_version_t* v = dnnl_version();
  m.onednn_version = str_cat(v->major, ".", v->minor, ".", v->patch);
  if (v->hash && std::string(v->hash) != "N/A") m.onednn_version += str_cat(" (", v->hash, ")");
  {
    const Runtime rt;  // applies this process's kernel variant, and oneDNN's cap with it
    const simd::Dispatch& d = simd::dispatch();
    m.kernel_variant = simd::isa_name(d.chosen);
    m.kernel_variant_best = simd::isa_name(d.best);
    m.kernel_target = d.kernels->target;
    m.kernel_note = d.note;
    for (simd::Isa isa : simd::variants_up_to(d.best)) m.kernel_variants_available.push_back(simd::isa_name(isa));
    m.cpu_features = d.cpu.flag_list();
    m.bf16_native = simd::native_bf16(d.chosen);
  }
  m.onednn_cpu_isa = ops::onednn_cpu_isa();
#if defined(__clang__)
  m.compiler = str_cat("clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  m.compiler = str_cat("gcc ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#endif
  for (const char* name :
       {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_SPINCOUNT",
        "SDFAST_ISA", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ONEDNN_CPU_ISA_HINTS", "ONEDNN_VERBOSE",
        "DNNL_VERBOSE", "ONEDNN_PRIMITIVE_CACHE_CAPACITY", "MALLOC_ARENA_MAX"})
    if (const char* v = std::getenv(name)) m.environment.emplace_back(name, v);
  return m;
}

nlohmann::json MachineInfo::to_json() const {
  nlohmann::json isa = nlohmann::json::object();
  for (const std::string& f : relevant_isa_flags()) isa[f] = cpu.has_flag(f);
  return {{"cpu_model", cpu.model},
          {"logical_cpus", cpu.logical_cpus},
          {"cpus_allowed", cpus_allowed},
          {"threads", threads},
          {"isa_flags", isa},
          {"memory_total_mb", memory_total_mb},
          {"kernel", kernel},
          {"onednn_version", onednn_version},
          {"onednn_cpu_isa", onednn_cpu_isa},
          {"compiler", compiler},
          {"cpu_features", cpu_features},
          {"kernel_variant", kernel_variant},
          {"kernel_variant_best", kernel_variant_best},
          {"kernel_variants_available", kernel_variants_available},
          {"kernel_target", kernel_target},
          {"kernel_note", kernel_note},
          {"bf16_native", bf16_native},
          {"environment", nlohmann::json(std::map<std::string, std::string>(environment.begin(),
                                                                            environment.end()))}};
}

std::string MachineInfo::summary() const {
  std::ostringstream os;
  os << cpu.model << ", " << cpu.logical_cpus << " logical CPUs (" << cpus_allowed << " allowed, "
     << threads << " threads used), " << int(memory_total_mb / 1024.0 + 0.5) << " GiB; ";
  bool first = true;
  for (const std::string& f : relevant_isa_flags()) {
    os << (first ? "" : ", ") << f << (cpu.has_flag(f) ? " yes" : " no");
    first = false;
  }
  for (const auto& [k, v] : environment) os << "; " << k << "=" << v;
  os << "; kernels " << kernel_variant << " (" << kernel_target << ")";
  os << "; oneDNN " << onednn_version << " (JIT ISA " << onednn_cpu_isa << "); Linux " << kernel
     << "; " << compiler;
  return os.str();
}

std::string MachineInfo::report() const {
  std::ostringstream os;
  os << "CPU:              " << cpu.model << ", " << cpu.logical_cpus << " logical CPUs (" << cpus_allowed
     << " allowed), " << int(memory_total_mb / 1024.0 + 0.5) << " GiB\n";
  os << "Features:         " << cpu_features << "\n";
  os << "Kernel variant:   " << kernel_variant << " (Highway target " << kernel_target << "; best here "
     << kernel_variant_best << "; SDFAST_ISA=" << (std::getenv("SDFAST_ISA") ? std::getenv("SDFAST_ISA") : "unset") << ")\n";
  if (!kernel_note.empty()) os << "                  " << kernel_note << "\n";
  os << "Variants here:    ";
  for (size_t i = 0; i < kernel_variants_available.size(); ++i) os << (i ? " " : "") << kernel_variants_available[i];
  os << "\n";
  os << "Half precision:   "
     << (bf16_native ? "bf16 native (AVX512-BF16 dot products); --dtype auto runs bf16"
                     : "bf16 weights stored in 16 bits, float32 arithmetic (no native bf16); --dtype auto runs f32")
     << "\n";
  os << "oneDNN:           " << onednn_version << ", JIT ISA " << onednn_cpu_isa << "\n";
  os << "Threads:          " << threads << "\n";
  os << "Build:            sdfast " << sdfast::version() << ", " << compiler << ", Linux " << kernel << "\n";
  for (const auto& [k, v] : environment) os << "Environment:      " << k << "=" << v << "\n";
  return os.str();
}

}  // namespace sdfast::bench

namespace sdfast {

std::string machine_report(int threads) { return bench::read_machine_info(threads).report(); }
std::string machine_report_json(int threads) { return bench::read_machine_info(threads).to_json().dump(2); }

}  // namespace sdfast
