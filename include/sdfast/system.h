// Facts about the process and the installation.
#pragma once

#include <string>

namespace sdfast {

// Peak resident memory of this process so far (VmHWM), in MiB.
double peak_rss_mb();


// The machine and how sdfast runs on it (`sdfast info`): CPU model and features, the kernel variant
// chosen for this process (SDFAST_ISA or the best) and the others it can run, half precision
// native or not, oneDNN's version and ISA, threads (0: OpenMP's default). As lines of text, or JSON.
std::string machine_report(int threads = 0);
std::string machine_report_json(int threads = 0);

// The kernel variant this process runs ("avx2", "avx512_bf16", ...: SDFAST_ISA or the CPU's best),
// and why SDFAST_ISA was capped at a lower one ("" when it was not).
std::string kernel_variant();
std::string kernel_variant_capped();

// The version string ("0.1.0").
const char* version();

}  // namespace sdfast
