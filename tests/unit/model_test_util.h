// Helpers for the model tests: the vendored golden data, rewritten weight files, error checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace sdfast::test {

inline std::string golden_dir(const std::string& relative) {
  return std::string(SDFAST_TEST_DATA) + "/golden/" + relative;
}

// A tensor of a golden case's data.safetensors, in its stored dtype.
inline Tensor case_tensor(const std::string& case_name, const std::string& tensor) {
  auto f = SafetensorsFile::open(golden_dir("cases/" + case_name + "/data.safetensors"));
  return f->load(tensor, f->info(tensor).dtype);
}

// max|got - want| / max|want|
inline double rel_err(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  if (g.size() != w.size()) return INFINITY;
  double m = 0, mw = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    m = std::max(m, double(std::fabs(g[i] - w[i])));
    mw = std::max(mw, double(std::fabs(w[i])));
  }
  return m / mw;
}

// Every tensor of a safetensors file, in file order and stored dtype.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
inline NamedTensors read_all(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  NamedTensors out;
  for (const TensorInfo& t : f->tensors()) out.emplace_back(t.name, f->load(t, t.dtype));
  return out;
}

// Passes tensors through from another source and records what was asked for, with its shape.
class RecordingWeights : public WeightSource {
 public:
  explicit RecordingWeights(WeightSource& inner) : inner_(inner) {}
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override {
    EXPECT_FALSE(shapes_.count(name)) << name << " asked for twice";
    shapes_[name] = shape;
    names_.push_back(name);
    return inner_.get(name, shape, dtype);
  }
  bool contains(const std::string& name) const override { return inner_.contains(name); }
  void check_all_used(bool (*ignorable)(const std::string&)) const override {
    inner_.check_all_used(ignorable);
  }
  std::string describe() const override { return inner_.describe(); }
  const std::vector<std::string>& names() const { return names_; }
  // The shape `name` was asked for with (empty when it was not).
  Shape shape_of(const std::string& name) const {
    auto it = shapes_.find(name);
    return it == shapes_.end() ? Shape{} : it->second;
  }

 private:
  WeightSource& inner_;
  std::map<std::string, Shape> shapes_;
  std::vector<std::string> names_;
};

// A scratch folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("sdfast_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `config` as `dir`/config.json; returns the folder.
inline std::string write_config(const TempDir& dir, const nlohmann::json& config) {
  std::FILE* f = std::fopen(dir.file("config.json").c_str(), "wb");
  const std::string text = config.dump(2);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return dir.file("");
}

// A component folder in `dir`: config.json from `config` and `weights` as `weight_name`.
inline std::string write_component(const TempDir& dir, const nlohmann::json& config,
                                   const NamedTensors& weights, const std::string& weight_name) {
  write_safetensors(dir.file(weight_name), weights);
  return write_config(dir, config);
}

// Expects `f` to throw an Error whose message contains every string in `parts`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg;
  }
}

}  // namespace sdfast::test
