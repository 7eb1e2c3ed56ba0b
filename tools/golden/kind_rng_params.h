// The params shared by the rng golden kinds: seed (non-negative, below 2^64) and shape.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "core/tensor.h"
#include "golden/golden_case.h"

namespace sdfast::golden {

inline uint64_t rng_param_seed(const GoldenCase& c) {
  const nlohmann::json& p = c.params();
  if (!p.contains("seed") || !p["seed"].is_number_integer() ||
      (!p["seed"].is_number_unsigned() && p["seed"].get<int64_t>() < 0))
    fail("case '", c.name(), "': params.seed must be a non-negative integer below 2^64");
  return p["seed"].get<uint64_t>();
}

inline Shape rng_param_shape(const GoldenCase& c) {
  const nlohmann::json& p = c.params();
  if (!p.contains("shape") || !p["shape"].is_array())
    fail("case '", c.name(), "': params.shape must be an array of integers");
  Shape shape;
  for (const nlohmann::json& d : p["shape"]) {
    if (!d.is_number_integer() || (!d.is_number_unsigned() && d.get<int64_t>() < 0))
      fail("case '", c.name(), "': params.shape holds ", d.dump(),
           ", expected non-negative integers");
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

}  // namespace sdfast::golden
