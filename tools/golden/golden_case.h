// One golden case folder (case.json + data.safetensors) and the comparison of outputs against it.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/runtime.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "golden/golden.h"

namespace sdfast::golden {

struct Tolerance {
  double atol = 0;
  double rtol = 0;
  double uint8_max_abs_diff = 0;
};

struct Comparison {
  double max_abs = 0;
  double max_rel = 0;  // max|got-want| / max|want|
  bool pass = true;
};

// Compares element-wise: |got - want| <= atol + rtol * |want| (U8 outputs: <= uint8_max_abs_diff).
// Shapes must match exactly.
Comparison compare(const Tensor& got, const Tensor& want, const Tolerance& tol,
                   const std::string& name);

class GoldenCase {
 public:
  explicit GoldenCase(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }
  const nlohmann::json& json() const { return json_; }
  const nlohmann::json& params() const { return params_; }
  const Tolerance& tolerance() const { return tolerance_; }
  // "model" resolved against the case folder ("" when the case has none).
  const std::string& model_path() const { return model_path_; }
  bool has(const std::string& tensor) const;
  // A tensor from data.safetensors, converted to `dtype` (its own dtype when F64/I32/U8 requested
  // as such).
  Tensor tensor(const std::string& name, DType dtype = DType::F32) const;
  // The stored dtype of a tensor.
  DType stored_dtype(const std::string& name) const;

 private:
  std::string dir_, name_, kind_, model_path_;
  nlohmann::json json_, params_;
  Tolerance tolerance_;
  std::shared_ptr<SafetensorsFile> data_;
};

// What a kind handler gets: the case, a runtime, and the place to report outputs.
class CaseRun {
 public:
  CaseRun(const GoldenCase& c, Runtime& rt, const GoldenOptions& opt) : case_(c), rt_(rt), opt_(opt) {}

  const GoldenCase& golden() const { return case_; }
  Runtime& runtime() { return rt_; }
  const GoldenOptions& options() const { return opt_; }
  // True when the case runs the models in reduced precision (judged by relative error).
  bool reduced_precision() const { return opt_.dtype != "f32"; }

  // Compares `got` against the case's tensor `name` at the case tolerance and records it.
  // `exact` outputs (rng, tokenizer ids, scheduler timesteps) are never judged by relative error.
  void check(const std::string& name, const Tensor& got, bool exact = false);
  // Records a mismatch that is not a tensor comparison (e.g. token ids differ).
  void fail_check(const std::string& what);

  bool pass() const { return pass_; }
  double max_abs() const { return max_abs_; }
  double max_rel() const { return max_rel_; }
  const std::string& worst() const { return worst_; }
  const std::string& failures() const { return failures_; }

 private:
  const GoldenCase& case_;
  Runtime& rt_;
  const GoldenOptions& opt_;
  bool pass_ = true;
  double max_abs_ = 0, max_rel_ = 0;
  std::string worst_, failures_;
};

}  // namespace sdfast::golden
