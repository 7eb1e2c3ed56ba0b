// `sdfast serve`: what a finished image job hands back to the API that asked for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sdfast::server {

struct JobOutput {
  std::vector<std::string> images;  // encoded files (PNG, JPEG or WebP bytes), one per image
  std::vector<uint64_t> seeds;      // the seed of each image
  int width = 0, height = 0;
  int steps = 0;
  double guidance = 0;
  std::string scheduler;            // class name of the scheduler that ran
  std::vector<std::string> warnings;  // e.g. a prompt truncated to the text encoder's 77 tokens
  double generate_s = 0;            // time in Pipeline::generate
};

}  // namespace sdfast::server
