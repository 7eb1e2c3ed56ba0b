// What the `sdfast serve` parser tests share: the limits they parse against and catching the
// ApiError a parser throws.
#pragma once

#include <gtest/gtest.h>

#include "api_error.h"
#include "image_spec.h"

namespace sdfast::server {

inline ParseContext test_context() {
  ParseContext c;
  c.limits.max_images = 4;
  c.limits.max_side = 512;
  c.limits.max_steps = 50;
  c.limits.max_prompt_bytes = 100;
  c.scheduler_names = {"PNDMScheduler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras"};
  return c;
}

// The ApiError `fn` throws (fails the test when it throws none).
template <class F>
ApiError error_of(F&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ApiError(0, "", "", "", "");
}

}  // namespace sdfast::server
