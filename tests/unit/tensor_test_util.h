// Tensor helpers the model tests share: seeded random inputs and the largest element difference.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>

#include "core/tensor.h"

namespace sdfast::test {

// A float32 tensor of `shape` with N(0, 1) values from a seeded mt19937_64.
inline Tensor randn(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  Tensor t = Tensor::empty(std::move(shape));
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// max |a - b| over the elements (the shapes are expected to match).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, double(std::fabs(x[i] - y[i])));
  return m;
}

}  // namespace sdfast::test
