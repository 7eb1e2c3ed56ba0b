#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <ostream>

#include "core/error.h"
#include "golden/kinds.h"
#include "golden/golden.h"

namespace sdfast {

namespace fs = std::filesystem;

namespace golden {

struct KindEntry {
  const char* kind;
  KindHandler handler;
};

// One line per implemented kind.
constexpr KindEntry kKinds[] = {
    {"pipeline", run_pipeline},
    {"img2img", run_img2img},
    {"inpaint", run_inpaint},
    {"lora", run_lora},
    {"deepcache", run_deepcache},
    {"text_encoder", run_text_encoder},
    {"vae_decode", run_vae_decode},
    {"vae_encode", run_vae_encode},
    {"taesd_decode", run_taesd_decode},
    {"taesd_encode", run_taesd_encode},
    {"rng_numpy_pcg64_standard_normal", run_rng_numpy_pcg64_standard_normal},
    {"rng_torch_cpu_randn", run_rng_torch_cpu_randn},
    {"tokenizer", run_tokenizer},
    {"scheduler", run_scheduler},
    {"unet", run_unet},
};

KindHandler find_kind(const std::string& kind) {
  for (const KindEntry& e : kKinds)
    if (e.handler && kind == e.kind) return e.handler;
  return nullptr;
}

}  // namespace golden

namespace {

std::vector<std::string> expand_case_dirs(const std::vector<std::string>& paths) {
  std::vector<std::string> dirs;
  for (const std::string& p : paths) {
    if (!fs::is_directory(p)) fail("golden: '", p, "' is not a folder");
    if (fs::exists(fs::path(p) / "case.json")) {
      dirs.push_back(p);
      continue;
    }
    std::vector<std::string> sub;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_directory() && fs::exists(e.path() / "case.json")) sub.push_back(e.path().string());
    if (sub.empty()) fail("golden: '", p, "' holds no case.json and no case folders");
    std::sort(sub.begin(), sub.end());
    dirs.insert(dirs.end(), sub.begin(), sub.end());
  }
  return dirs;
}

std::string format_line(const GoldenResult& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-40s %-32s %-11s max_abs=%.3e max_rel=%.3e", r.name.c_str(),
                r.kind.c_str(), r.status.c_str(), r.max_abs, r.max_rel);
  std::string s = buf;
  if (!r.detail.empty()) s += "  " + r.detail;
  return s;
}

}  // namespace

std::vector<GoldenResult> run_golden(const std::vector<std::string>& paths,
                                     const GoldenOptions& options, std::ostream& out) {
  if (options.dtype != "f32" && options.dtype != "bf16")
    fail_argument("golden: --dtype must be f32 or bf16, got '", options.dtype, "'");
  RuntimeOptions ro;
  ro.threads = options.threads;
  ro.precision = options.dtype == "bf16" ? DType::BF16 : DType::F32;
  Runtime rt(ro);
  std::vector<GoldenResult> results;
  for (const std::string& dir : expand_case_dirs(paths)) {
    GoldenResult r;
    r.name = fs::path(dir).lexically_normal().filename().string();
    try {
      golden::GoldenCase c(dir);
      r.name = c.name();
      r.kind = c.kind();
      golden::KindHandler handler = golden::find_kind(c.kind());
      if (!handler) {
        r.status = "UNSUPPORTED";
        r.detail = "kind '" + c.kind() + "' is not implemented";
      } else {
        golden::CaseRun run(c, rt, options);
        handler(run);
        r.status = run.pass() ? "PASS" : "FAIL";
        r.max_abs = run.max_abs();
        r.max_rel = run.max_rel();
        r.detail = run.pass() ? (options.verbose ? "worst: " + run.worst() : "") : run.failures();
      }
    } catch (const std::exception& e) {
      r.status = "FAIL";
      r.detail = std::string("error: ") + e.what();
    }
    out << format_line(r) << std::endl;
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace sdfast
