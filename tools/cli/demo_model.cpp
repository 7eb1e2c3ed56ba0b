// The bundled demo pipelines: recognised by folder, wherever they are named from.
#include "demo_model.h"

#include <filesystem>

#include "sdfast/error.h"
#include "sdfast/system.h"

namespace sdfast::cli {

bool is_bundled_demo(const std::string& model) {
  namespace fs = std::filesystem;
  try {
    const fs::path demo = bundled_demo_model();
    std::error_code ec;
    for (const fs::path& d : {demo, demo.parent_path() / "shapes-taesd-pipeline"})
      if (fs::equivalent(model, d, ec)) return true;
  } catch (const Error&) {
  }
  return false;
}

}  // namespace sdfast::cli
