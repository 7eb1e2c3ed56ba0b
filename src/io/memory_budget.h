// Will the model fit? Estimates the memory the weights need from the safetensors headers alone,
// and refuses to load what cannot fit, so that the kernel's OOM killer never ends a run mid-way.
//
// Available memory is the smallest of MemAvailable (/proc/meminfo) and, for each cgroup memory
// limit on our cgroup and its ancestors (v2 memory.max, v1 memory.limit_in_bytes), the limit
// minus the cgroup's working set (usage minus inactive file pages, which the kernel reclaims
// first; the formula Kubernetes and cAdvisor use). The files read are injectable for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace sdfast {

// Bytes that the tensors of `files` take once floating-point tensors are converted to `compute`
// (integer tensors keep their own size). Reads and validates only the headers.
uint64_t estimate_weight_bytes(const std::vector<std::string>& files, DType compute);

// Where the memory information comes from (the defaults are the real kernel files).
struct MemorySources {
  std::string meminfo = "/proc/meminfo";
  std::string self_cgroup = "/proc/self/cgroup";
  std::string mountinfo = "/proc/self/mountinfo";
};

struct MemoryAvailability {
  std::optional<uint64_t> mem_available;     // MemAvailable, bytes
  std::optional<uint64_t> cgroup_limit;      // the tightest cgroup limit found, bytes
  std::optional<uint64_t> cgroup_available;  // that limit's headroom (limit - working set), bytes
  std::string cgroup_file;                   // the file that limit came from

  // The smaller of mem_available and cgroup_available; nullopt when neither is known.
  std::optional<uint64_t> available() const;
  // "MemAvailable 11.3 GiB; cgroup limit 8.0 GiB (/sys/fs/cgroup/memory.max), 6.2 GiB free"
  std::string describe() const;
};

// Reads what is available now. Missing or unreadable files leave their fields empty (never throws
// for a missing file: a machine without cgroups or /proc is simply not limited by them).
MemoryAvailability read_memory_availability(const MemorySources& sources = {});

// Throws Error, before anything is loaded, when `required_bytes` exceed what is available:
// "<what> need(s) 9.6 GiB, but only 7.1 GiB of memory is available (MemAvailable ...)". Does
// nothing when nothing is known about available memory.
void check_fits_in_memory(uint64_t required_bytes, const MemoryAvailability& available,
                          const std::string& what);

// "1.5 GiB", "12.0 MiB", "512 bytes".
std::string format_bytes(uint64_t bytes);

}  // namespace sdfast
