// `sdfast serve`: what one request may ask for, and what it gets when it does not say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sdfast::server {

// Upper bounds checked on every request before it is queued (400/413 with a message otherwise).
struct RequestLimits {
  int max_side = 1024;               // width and height, pixels (multiples of 8)
  int max_steps = 150;               // num_inference_steps
  int max_images = 4;                // images per request (n; batch_size * n_iter)
  size_t max_prompt_bytes = 4000;    // prompt and negative prompt, each
  size_t max_body_bytes = 8u << 20;  // HTTP request body
};

// Values used when a request leaves a field out: the model's (the bundled demo models were trained
// for 25 steps at guidance 5, every other model gets Diffusers' 50 and 7.5).
struct RequestDefaults {
  int steps = 50;
  double guidance = 7.5;
  int width = 0;   // 0: the model's own size
  int height = 0;
  int threads = 0;  // OpenMP threads of each run (GenerateRequest::threads); 0: the pipeline's
};

}  // namespace sdfast::server
