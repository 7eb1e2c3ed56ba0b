#include "golden/golden_case.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "golden/kinds.h"
#include "io/json.h"

namespace sdfast::golden {

namespace fs = std::filesystem;

Comparison compare(const Tensor& got, const Tensor& want, const Tolerance& tol,
                   const std::string& name) {
  SDFAST_CHECK(got.shape() == want.shape(), "output '", name, "' has shape ", shape_str(got.shape()),
               ", expected ", shape_str(want.shape()));
  Comparison c;
  const bool u8 = want.dtype() == DType::U8;
  const size_t n = size_t(want.numel());
  std::vector<double> g(n), w(n);
  auto load = [n](const Tensor& t, std::vector<double>& v) {
    if (t.dtype() == DType::F64) {
      const double* p = t.data<double>();
      for (size_t i = 0; i < n; ++i) v[i] = p[i];
    } else {
      std::vector<float> f = t.to_vector();
      for (size_t i = 0; i < n; ++i) v[i] = f[i];
    }
  };
  load(got, g);
  load(want, w);
  double max_want = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(g[i] - w[i]);
    const bool ok = u8 ? d <= tol.uint8_max_abs_diff : d <= tol.atol + tol.rtol * std::fabs(w[i]);
    if (!ok || std::isnan(d)) c.pass = false;
    if (std::isnan(d)) c.max_abs = INFINITY;
    c.max_abs = std::max(c.max_abs, d);
    max_want = std::max(max_want, std::fabs(w[i]));
  }
  c.max_rel = max_want > 0 ? c.max_abs / max_want : (c.max_abs > 0 ? INFINITY : 0.0);
  return c;
}

GoldenCase::GoldenCase(const std::string& dir) : dir_(dir) {
  name_ = fs::path(dir).lexically_normal().filename().string();
  if (name_.empty()) name_ = fs::path(dir).lexically_normal().parent_path().filename().string();
  const std::string path = (fs::path(dir) / "case.json").string();
  json_ = read_json_file(path);
  if (!json_.is_object() || !json_.contains("kind") || !json_["kind"].is_string())
    fail("'", path, "' has no string field \"kind\"");
  kind_ = json_["kind"].get<std::string>();
  params_ = json_.value("params", nlohmann::json::object());
  if (json_.contains("model") && json_["model"].is_string())
    model_path_ = (fs::path(dir) / json_["model"].get<std::string>()).lexically_normal().string();
  if (json_.contains("tolerance") && json_["tolerance"].is_object()) {
    const auto& t = json_["tolerance"];
    tolerance_.atol = t.value("atol", 0.0);
    tolerance_.rtol = t.value("rtol", 0.0);
    tolerance_.uint8_max_abs_diff = t.value("uint8_max_abs_diff", 0.0);
  }
  const fs::path data = fs::path(dir) / "data.safetensors";
  if (fs::exists(data)) data_ = SafetensorsFile::open(data.string());
}

bool GoldenCase::has(const std::string& tensor) const { return data_ && data_->contains(tensor); }

Tensor GoldenCase::tensor(const std::string& name, DType dtype) const {
  if (!data_) fail("case '", name_, "' has no data.safetensors (wanted '", name, "')");
  return data_->load(name, dtype);
}

DType GoldenCase::stored_dtype(const std::string& name) const {
  if (!data_) fail("case '", name_, "' has no data.safetensors (wanted '", name, "')");
  return data_->info(name).dtype;
}

void CaseRun::check(const std::string& name, const Tensor& got, bool exact) {
  const DType stored = case_.stored_dtype(name);
  const Tensor want = case_.tensor(name, stored);
  Tolerance tol = case_.tolerance();
  Comparison c = compare(got, want, tol, name);
  if (reduced_precision() && !exact && stored != DType::U8) c.pass = c.max_rel <= opt_.bf16_max_rel;
  if (reduced_precision() && !exact && stored == DType::U8) c.pass = true;  // judged via `images`
  // The figures reported are those of the float outputs; a U8 output (rounded images) only
  // passes or fails by its own criterion (|got - want| <= uint8_max_abs_diff).
  if (stored != DType::U8) {
    if (c.max_rel >= max_rel_) {
      max_rel_ = c.max_rel;
      worst_ = name;
    }
    max_abs_ = std::max(max_abs_, c.max_abs);
  }
  if (!c.pass) {
    pass_ = false;
    failures_ += str_cat(failures_.empty() ? "" : "; ", name, " max_abs=", c.max_abs, " max_rel=", c.max_rel);
  }
}

void CaseRun::fail_check(const std::string& what) {
  pass_ = false;
  failures_ += (failures_.empty() ? "" : "; ") + what;
}

Component model_component(const GoldenCase& c, const std::string& class_name) {
  SDFAST_CHECK(!c.model_path().empty(), "case '", c.name(), "' names no \"model\" folder");
  Component component = open_component_folder(c.model_path());
  SDFAST_CHECK(component.class_name == class_name, "case '", c.name(), "': '", c.model_path(),
               "' holds a ", component.class_name, ", expected a ", class_name);
  return component;
}

}  // namespace sdfast::golden
