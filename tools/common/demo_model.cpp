#include "common/demo_model.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "sdfast/error.h"

namespace sdfast {

namespace fs = std::filesystem;

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
  throw Error("the bundled demo model (" + rel.string() +
              ") was not found next to the executable or in the source tree; pass --model DIR or set "
              "SDFAST_DEMO_MODEL");
}

std::string bundled_tokenizer() { return (fs::path(bundled_demo_model()) / "tokenizer").string(); }

bool is_bundled_demo(const std::string& model) {
  try {
    const fs::path demo = bundled_demo_model();
    std::error_code ec;
    for (const fs::path& d : {demo, demo.parent_path() / "shapes-taesd-pipeline"})
      if (fs::equivalent(model, d, ec)) return true;
  } catch (const Error&) {
  }
  return false;
}

}  // namespace sdfast
