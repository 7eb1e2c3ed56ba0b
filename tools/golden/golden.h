// The golden runner: runs reference cases (tests/golden/README.md format) against the engine.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sdfast {

struct GoldenOptions {
  // "f32" checks every output against the case's atol/rtol; "bf16" runs the models on the bf16
  // path and judges model outputs by relative error (max|got-want| / max|want|) <= bf16_max_rel.
  std::string dtype = "f32";
  double bf16_max_rel = 2e-2;
  int threads = 0;
  bool verbose = false;  // one line per compared output as well
};

struct GoldenResult {
  std::string name;     // the case folder's name
  std::string kind;     // case.json "kind"
  std::string status;   // PASS, FAIL (mismatch or error) or UNSUPPORTED
  double max_abs = 0;   // over all compared outputs
  double max_rel = 0;   // max|got-want| / max|want|, worst output
  std::string detail;   // the worst output's name, or the error message
};

// Expands each path into case folders (a folder holding case.json, or a folder of such folders,
// sorted by name), runs them, prints one line per case to `out`, and returns the results.
std::vector<GoldenResult> run_golden(const std::vector<std::string>& paths,
                                     const GoldenOptions& options, std::ostream& out);

}  // namespace sdfast
