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

std::string bundled_demo_model() {
  const fs::path rel = fs::path("models") / "demo" / "shapes-pipeline";
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("SDFAST_DEMO_MODEL")) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / rel);
    candidates.push_back(exe.parent_path().parent_path() / rel);
    candidates.push_back(exe.parent_path().parent_path() / "share" / "sdfast" / rel);
  }
#ifdef SDFAST_SOURCE_DIR
  candidates.push_back(fs::path(SDFAST_SOURCE_DIR) / rel);
#endif
  for (const fs::path& c : candidates)
    if (fs::exists(c / "model_index.json")) return fs::weakly_canonical(c).string();
  fail("the bundled demo model (", rel.string(),
       ") was not found next to the executable or in the source tree; pass --model DIR or set SDFAST_DEMO_MODEL");
}

const char* version() { return "0.1.0"; }

}  // namespace sdfast
