// Progress display for long runs: a bar with steps/s and ETA on a terminal, plain lines otherwise.
#pragma once

#include <chrono>
#include <iosfwd>

#include "sdfast/pipeline.h"

namespace sdfast::cli {

class Progress {
 public:
  explicit Progress(bool quiet);
  void update(const StepInfo& step);
  void finish();

 private:
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_;
  bool started_ = false;
};

// "Where the time went": load, text encoder, UNet steps, VAE decode, total, peak memory.
void print_summary(std::ostream& os, double load_s, const GenerateTimings& t, double total_s);

}  // namespace sdfast::cli
