#include "sdfast/system.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "simd/dispatch.h"

namespace sdfast {

namespace fs = std::filesystem;

std::string kernel_variant() { return simd::isa_name(simd::dispatch().chosen); }
std::string kernel_variant_capped() { return simd::dispatch().note; }

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

const char* version() { return "0.1.0"; }

}  // namespace sdfast
